import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { OnnxInputError } from '../batch/validateFeeds.js';
import { messageOf } from '@tributary/core';
import type { FeedsModule } from './feedsModule.js';

/** A tensor as it crosses to or from a session worker: a `Tensor` does not survive structured clone, its parts do. */
export interface WireTensor {
  readonly type: Tensor.Type;
  readonly dims: readonly number[];
  readonly data: Tensor.DataType;
}

/** What a session worker starts with: the session to create, the feeds builder to load, and its cell of runsAtExit. */
export interface SessionWorkerData {
  readonly model: string | Uint8Array;
  readonly sessionOptions: InferenceSession.SessionOptions;
  /** Names the model in the worker's error messages. */
  readonly label: string;
  /**
   * The model file as the pool found it (device, inode, size, modification time), when `model` is a path:
   * an idle worker serves a later pool only while the file is the one it loaded (see idleSessionWorkers).
   */
  readonly modelFile: string | undefined;
  /** Builds the feeds of requests that bring plain inputs. */
  readonly feeds: FeedsModule | undefined;
  /** The runs sent and not yet returned: the starting thread adds one per request, the worker takes one off (with a notify) as each returns; the starting thread waits for 0 at exit (see runsAtExit). */
  readonly busy: Int32Array;
}

/** Main thread -> session worker: run the session once, on feeds built by the caller or on plain inputs for the worker's feeds builder. */
export type RunRequest = { readonly feeds: Readonly<Record<string, WireTensor>> } | { readonly inputs: readonly unknown[] };

/** Main thread -> session worker, last: release the session and end the thread. */
export interface StopRequest {
  readonly stop: true;
}

/** The parts of an `OnnxInputError` the worker's feeds check threw: the error class does not survive structured clone. */
export interface WireInputError {
  readonly inputName: string;
  readonly expected: string;
  readonly actual: string;
}

/**
 * Session worker -> main thread, in order: `ready` or `failed` once, then one `result` or `error` per request.
 * Messages name the model already.
 */
export type WorkerReply =
  | { readonly kind: 'ready'; readonly inputs: readonly InferenceSession.ValueMetadata[] }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'result'; readonly outputs: Readonly<Record<string, WireTensor>> }
  | { readonly kind: 'error'; readonly message: string; readonly input?: WireInputError };

/**
 * The feeds as wire tensors and the buffers to transfer with them: a buffer
 * that holds exactly one feed's data moves to the worker without a copy (the
 * caller's array is detached), anything else is copied.
 */
export function feedsToWire(feeds: Readonly<Record<string, Tensor>>, modelLabel: string): { wire: Record<string, WireTensor>; transfer: ArrayBuffer[] } {
  const wire: Record<string, WireTensor> = {};
  const transfer = new Set<ArrayBuffer>();
  for (const [name, tensor] of Object.entries(feeds)) {
    const data = tensor.data;
    if (ArrayBuffer.isView(data)) {
      // A buffer moved by an earlier call is detached (length 0): reusing a feed's arrays would send nothing.
      if (data.byteLength === 0 && tensor.size > 0) {
        throw new OnnxInputError(
          `${modelLabel}: input '${name}' has a buffer that an earlier call moved to the session worker; the feeds builder must create new arrays for every batch`,
          name,
          `${tensor.type} data`,
          'a detached buffer',
        );
      }
      const buffer = data.buffer;
      if (buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength) transfer.add(buffer);
    }
    wire[name] = { type: tensor.type, dims: tensor.dims, data };
  }
  return { wire, transfer: [...transfer] };
}

/** Wire tensors as tensors again: the feeds in the worker, the session's outputs back on the caller. */
export function tensorsFromWire(wire: Readonly<Record<string, WireTensor>>): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, { type, data, dims }] of Object.entries(wire)) tensors[name] = new Tensor(type, data, dims);
  return tensors;
}

/** A feeds-side error the worker caught, as its reply: an `OnnxInputError` keeps its parts. */
export function errorToWire(error: unknown): WorkerReply {
  const message = messageOf(error);
  if (!(error instanceof OnnxInputError)) return { kind: 'error', message };
  const { inputName, expected, actual } = error;
  return { kind: 'error', message, input: { inputName, expected, actual } };
}

/** The error of an `error` reply, as the worker threw it: an `OnnxInputError` again (not retried), else an `Error`. */
export function errorFromWire({ message, input }: { readonly message: string; readonly input?: WireInputError }): Error {
  return input === undefined ? new Error(message) : new OnnxInputError(message, input.inputName, input.expected, input.actual);
}
