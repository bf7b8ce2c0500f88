/**
 * What travels on the port between two slots (between the main thread and a
 * slot: hostMessages.ts). Tuples, not objects: one small array per chunk is
 * all the hot path allocates. `stream` is the sender's number for one
 * (consumer vertex, consumer subtask, producer queue), announced once by an open message.
 */

/** Producer to consumer: the stream's consumer vertex, subtask and producer queue. */
export const OPEN = 0;
export const CHUNK = 1;
export const BARRIER = 2;
export const END = 3;
/** Consumer to producer: pairs of (stream, chunks polled) after the kind. */
export const CREDIT = 4;
/** A chunk of flat records as columns (see columnChunks.ts). */
export const COLUMNS = 5;

export type OpenMessage = readonly [typeof OPEN, stream: number, vertex: string, subtask: number, queue: number];
export type ChunkMessage = readonly [typeof CHUNK, stream: number, chunk: unknown[]];
export type ColumnsMessage = readonly [typeof COLUMNS, stream: number, keys: string[], columns: unknown[][]];
export type BarrierMessage = readonly [typeof BARRIER, stream: number, checkpointId: number];
export type EndMessage = readonly [typeof END, stream: number];
/** The messages of one stream after its open, in the order they were sent. */
export type StreamMessage = ChunkMessage | ColumnsMessage | BarrierMessage | EndMessage;
export type CreditMessage = readonly [typeof CREDIT, ...number[]];
export type PeerMessage = OpenMessage | StreamMessage | CreditMessage;
