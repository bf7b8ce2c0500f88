import type { TaskTime } from './TaskTime.js';

/** What a mailbox needs from the task (or test harness) it serves. */
export interface MailboxOwner {
  /** True once the task ended or its job stopped: mails are dropped from then on. */
  readonly mailboxClosed: boolean;
  /** The task's time: a mail that comes while the task waits is busy time, and the wait resumes after it. */
  readonly time: TaskTime;
  /** A mail threw: fail the job, naming `operator`. */
  mailFailed(error: unknown, operator: string): void;
  /** A mail that came while the task was idle has run, with the mails it queued: push their records downstream. */
  mailsDone(): void;
}

/** A queued action and the operator it is charged to. */
interface Mail {
  readonly action: () => void;
  readonly operator: string;
}

/**
 * The one queue through which everything that touches a task's operator
 * state runs, one action at a time (Flink's `TaskMailbox` with its
 * `MailboxProcessor`): records, timers, async completions, barriers,
 * checkpoint notifications.
 *
 * An action sent while none runs runs at once, with no extra microtask; one
 * sent while another runs (an operator calling `execute` from inside
 * `processElement`, a timer) waits and runs after the outermost action
 * returns, first in first out, never nested. Once the owner is closed,
 * queued and new mails are dropped, so operators need no `stopped` flag.
 */
export class Mailbox {
  private queue: Mail[] = [];
  private running = false;

  constructor(private readonly owner: MailboxOwner) {}

  /** Whether an action runs right now (mails sent now are queued behind it). */
  get busy(): boolean {
    return this.running;
  }

  /** Mails waiting for the running action to return. */
  get queued(): number {
    return this.queue.length;
  }

  /** Runs `action` now if nothing runs, else queues it; a throw fails the job naming `operator`. */
  execute(action: () => void, operator: string): void {
    const owner = this.owner;
    if (owner.mailboxClosed) return;
    if (this.running) {
      this.queue.push({ action, operator });
      return;
    }
    const time = owner.time;
    const waiting = time.current;
    time.switchTo(time.busyTimeMs);
    this.running = true;
    this.run(action, operator);
    this.drain();
    time.switchTo(waiting);
    if (!owner.mailboxClosed) owner.mailsDone();
  }

  /**
   * The task's own work starts (a chunk of records, a barrier's snapshot):
   * mails sent meanwhile queue behind it. The task charges its own time.
   * If the work throws, the task fails without calling {@link leave}, and
   * the queued mails are dropped with the closed mailbox.
   */
  enter(): void {
    this.running = true;
  }

  /** The task's own work returned: runs the mails it queued, in order. */
  leave(): void {
    this.drain();
  }

  /** Runs queued mails until none is left (mails may queue more), then goes idle. */
  private drain(): void {
    const owner = this.owner;
    while (this.queue.length !== 0) {
      const mails = this.queue;
      this.queue = [];
      for (let i = 0; i < mails.length; i++) {
        if (owner.mailboxClosed) break;
        const mail = mails[i] as Mail;
        this.run(mail.action, mail.operator);
      }
      if (owner.mailboxClosed) this.queue = [];
    }
    this.running = false;
  }

  private run(action: () => void, operator: string): void {
    try {
      action();
    } catch (error) {
      this.owner.mailFailed(error, operator);
    }
  }
}
