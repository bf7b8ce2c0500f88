/** A response body read up to a limit. */
export interface BodyText {
  /** The bytes read, decoded as UTF-8. */
  readonly text: string;
  /** False when the body went on past the limit: the rest was not read and the connection was dropped. */
  readonly complete: boolean;
  /** How big the whole body was, for a message: `'20971520 bytes'`, or `'more than 65536 bytes'` when unknown. */
  readonly size: string;
  /** Set when the connection broke mid-body (only with `keepOnBreak`): how much came, e.g. `'20 of 250 bytes'`. */
  readonly broken?: string;
}

/**
 * Reads at most `maxBytes` of a response body as a stream and cancels the rest,
 * so an endless body costs `maxBytes`, not all memory. A connection that breaks
 * mid-body rejects, or with `keepOnBreak` resolves with what came (`broken`).
 */
export async function readBody(response: Response, maxBytes: number, keepOnBreak = false): Promise<BodyText> {
  const declared = contentLength(response);
  const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = response.body?.getReader();
  if (reader === undefined) return { text: '', complete: true, size: '0 bytes' };
  // Decoded chunk by chunk, so the bytes read are not kept beside their text.
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let bytes = 0;
  let complete = true;
  let broken: string | undefined;
  while (complete) {
    const chunk = keepOnBreak ? await reader.read().catch(() => undefined) : await reader.read();
    if (chunk === undefined) {
      broken = declared === undefined ? `${bytes} bytes` : `${bytes} of ${declared} bytes`;
      break;
    }
    const { done, value } = chunk;
    if (done) break;
    const room = maxBytes - bytes;
    parts.push(decoder.decode(value.byteLength > room ? value.subarray(0, room) : value, { stream: true }));
    bytes += Math.min(value.byteLength, room);
    complete = value.byteLength <= room;
  }
  if (!complete) await reader.cancel();
  parts.push(decoder.decode());
  const size = declared !== undefined ? `${declared} bytes` : complete ? `${bytes} bytes` : `more than ${bytes} bytes`;
  return broken === undefined ? { text: parts.join(''), complete, size } : { text: parts.join(''), complete: false, size, broken };
}

/** The `Content-Length` the server declared, if any. */
export function contentLength(response: Response): number | undefined {
  const value = response.headers.get('content-length');
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}
