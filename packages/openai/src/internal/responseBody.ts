/** A response body read up to a limit. */
export interface BodyText {
  /** The bytes read, decoded as UTF-8. */
  readonly text: string;
  /** False when the body went on past the limit: the rest was not read and the connection was dropped. */
  readonly complete: boolean;
  /** How big the whole body was, for a message: `'20971520 bytes'`, or `'more than 65536 bytes'` when unknown. */
  readonly size: string;
}

/**
 * Reads at most `maxBytes` of a response body as a stream and cancels the rest,
 * so an endless body costs `maxBytes`, not all memory.
 */
export async function readBody(response: Response, maxBytes: number): Promise<BodyText> {
  const declared = contentLength(response);
  const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = response.body?.getReader();
  if (reader === undefined) return { text: '', complete: true, size: '0 bytes' };
  // Decoded chunk by chunk, so the bytes read are not kept beside their text.
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let bytes = 0;
  let complete = true;
  while (complete) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - bytes;
    parts.push(decoder.decode(value.byteLength > room ? value.subarray(0, room) : value, { stream: true }));
    bytes += Math.min(value.byteLength, room);
    complete = value.byteLength <= room;
  }
  if (!complete) await reader.cancel();
  parts.push(decoder.decode());
  const size = declared !== undefined ? `${declared} bytes` : complete ? `${bytes} bytes` : `more than ${bytes} bytes`;
  return { text: parts.join(''), complete, size };
}

/** The `Content-Length` the server declared, if any. */
export function contentLength(response: Response): number | undefined {
  const value = response.headers.get('content-length');
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}
