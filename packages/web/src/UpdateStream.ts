import type { ServerResponse } from 'node:http';
import type { UpdateView } from './api.js';

/** How often a running job's state goes to the open pages. */
export const UPDATE_INTERVAL_MS = 1000;

// No `connection` header: Node answers what the client asked (a `Connection: close` is honoured).
const EVENT_STREAM_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' };

/**
 * The `/api/events` stream (Server-Sent Events): each open page gets the
 * current state when it connects, then an `update` every second while the
 * job runs and a last one when it ends, and then the stream ends. No page
 * open, no sampling: the view costs the job nothing while nobody looks.
 * Each update holds the whole state, so a page that reads slower than they
 * come (a stalled proxy, a suspended tab) skips updates while its connection
 * still holds an unsent one: the process buffers at most one per page, and
 * the final state, which every page gets when the job ends.
 */
export class UpdateStream {
  private readonly pages = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(private readonly current: () => UpdateView) {}

  open(res: ServerResponse): void {
    res.writeHead(200, EVENT_STREAM_HEADERS);
    // Nothing more will come: the final state, and the connection back to the browser (it keeps six per server).
    if (this.ended) {
      res.end(message(this.current()));
      return;
    }
    this.pages.add(res);
    res.on('close', () => {
      this.pages.delete(res);
      if (this.pages.size === 0) this.stopTicking();
    });
    res.write(message(this.current()));
    if (!this.ended && this.timer === undefined) {
      this.timer = setInterval(() => this.broadcast(), UPDATE_INTERVAL_MS);
      // A view left open must not keep the process alive once the job is done.
      this.timer.unref();
    }
  }

  /** A HEAD request: the stream's headers, and no stream. */
  head(res: ServerResponse): void {
    res.writeHead(200, EVENT_STREAM_HEADERS).end();
  }

  /** The job has ended: one last update with its final state, and the streams end. */
  end(): void {
    this.ended = true;
    this.stopTicking();
    // Every page gets the final state, one that is behind too: it is the last, so at most one more is buffered.
    if (this.pages.size > 0) {
      const text = message(this.current());
      for (const res of this.pages) res.end(text);
    }
    this.pages.clear();
  }

  close(): void {
    this.stopTicking();
    for (const res of this.pages) res.end();
    this.pages.clear();
  }

  private broadcast(): void {
    if (this.pages.size === 0) return;
    const text = message(this.current());
    for (const res of this.pages) if (!res.writableNeedDrain) res.write(text);
  }

  private stopTicking(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** One Server-Sent Event, serialized once for every page. */
function message(update: UpdateView): string {
  return `event: update\ndata: ${JSON.stringify(update)}\n\n`;
}
