import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { describeValue, OptionChecker, perSubtask, type PerSubtask } from '@tributary/core';
import { checkMaxWorkers, checkModelSource, checkSessionOptions, OnnxBatchFunction, type OnnxBatchFunctionSpec } from '../batch/OnnxBatchFunction.js';
import { DEFAULT_EMBEDDER_CONFIG, EMBEDDER_IO, type EmbedderModel } from '../model/embedderModel.js';
import { SessionFeeds } from '../session/feedsModule.js';
import { splitRows } from '../tensors/packing.js';
import { tokenizerSettings, TOKENIZER_OPTIONS, type NgramTokenizerOptions } from './ngramTokenizer.js';
import { textFeedsModule } from './textFeeds.js';

const TEXT_EMBEDDER_OPTIONS = ['model', 'sessionOptions', 'maxWorkers', 'text', 'output', ...TOKENIZER_OPTIONS];

/** Options of {@link onnxTextEmbedder}. */
export interface OnnxTextEmbedderOptions extends NgramTokenizerOptions {
  /**
   * The generated embedder model: what {@link generateEmbedderModel} or
   * {@link ensureEmbedderModel} returned (its `vocab` configures the
   * tokenizer), or a path / bytes of such a model (then pass `vocab` if it
   * is not the default).
   */
  readonly model: EmbedderModel | string | Uint8Array;
  readonly sessionOptions?: InferenceSession.SessionOptions;
  /** Most worker threads running the model at once, or `0` for a session on the caller's thread (as in {@link onnxBatchFunction}). Default: the CPU cores divided by the operator's parallelism, at least 1 (see {@link onnxBatchFunction}). */
  readonly maxWorkers?: number;
}

/** Options of {@link onnxTextEmbedder} for records that are not plain strings: where the text is, and what to emit. */
export interface OnnxRecordEmbedderOptions<TIn, TOut> extends OnnxTextEmbedderOptions {
  /** The text to embed of a record. */
  readonly text: (record: TIn) => string;
  /** The output for a record, given its embedding (e.g. `{ id, vector }`). */
  readonly output: (embedding: Float32Array, record: TIn) => TOut;
}

/**
 * The ready-made text embedder: a batch function from strings to unit-length
 * `Float32Array` embeddings, over the model {@link generateEmbedderModel}
 * writes. Like {@link onnxBatchFunction} it returns a factory, one instance
 * (and session) per subtask; `.create()` gives one for direct use.
 *
 * Per batch it tokenizes each text into hashed character n-gram ids
 * ({@link createNgramTokenizer}), pads them to the batch's longest text with
 * an attention mask, runs the session once, and returns one row per text.
 * The tokenizing and packing run next to the session, on its worker thread:
 * the caller's thread only maps records to texts (`text`), sends the texts,
 * and splits the embeddings back (`output`). With `maxWorkers: 0` all of it
 * runs on the caller's thread.
 * The dot product of two embeddings is their cosine similarity, which
 * follows how many character n-grams the texts share. A text without
 * letters or digits embeds as the zero vector.
 *
 * For records such as `{ id, text }`, pass `text` and `output` to read the
 * text and build each output, so the embedding stays with its record.
 *
 * @example
 * ```ts
 * const model = await ensureEmbedderModel();
 * const embedder = onnxTextEmbedder({ model, sessionOptions: { intraOpNumThreads: 1 } });
 * const [a, b] = await embedder.create().invoke(['the cat sat on the mat', 'the cat sat on a mat']);
 *
 * const docs = onnxTextEmbedder({
 *   model,
 *   text: (doc: { id: string; body: string }) => doc.body,
 *   output: (vector, doc) => ({ id: doc.id, vector }),
 * });
 * ```
 */
export function onnxTextEmbedder<TIn, TOut>(options: OnnxRecordEmbedderOptions<TIn, TOut>): PerSubtask<OnnxBatchFunction<TIn, TOut>>;
export function onnxTextEmbedder(options: OnnxTextEmbedderOptions): PerSubtask<OnnxBatchFunction<string, Float32Array>>;
export function onnxTextEmbedder<TIn, TOut>(
  options: OnnxTextEmbedderOptions & Partial<OnnxRecordEmbedderOptions<TIn, TOut>>,
): PerSubtask<OnnxBatchFunction<TIn, TOut>> {
  const check = new OptionChecker('onnxTextEmbedder');
  check.known(check.object(options), TEXT_EMBEDDER_OPTIONS);
  const { model } = options;
  const generated = typeof model === 'string' || model instanceof Uint8Array ? undefined : model;
  if (generated === undefined) checkModelSource(check, model);
  else if (typeof (generated as Partial<EmbedderModel> | null)?.path !== 'string') {
    check.fail(`option 'model' must be a generated EmbedderModel, a path or the model's bytes, got ${describeValue(model)}`);
  }
  checkSessionOptions(check, options.sessionOptions);
  checkMaxWorkers(check, options.maxWorkers);
  check.optionalFunc('text', options.text);
  check.optionalFunc('output', options.output);
  if (generated !== undefined && options.vocab !== undefined && options.vocab !== generated.vocab) {
    check.fail(`option 'vocab' (${options.vocab}) differs from the model's vocab (${generated.vocab}); leave it out to use the model's`);
  }
  const settings = tokenizerSettings({ ...options, vocab: generated?.vocab ?? options.vocab ?? DEFAULT_EMBEDDER_CONFIG.vocab }, check);
  // Without a mapping the records are the texts and the embeddings the outputs (the first overload).
  const text = options.text ?? ((record: TIn) => record as string);
  const output = options.output ?? ((embedding: Float32Array) => embedding as TOut);
  const source = generated?.path ?? (model as string | Uint8Array);
  const spec: OnnxBatchFunctionSpec<TIn, TOut> = {
    model: source,
    ...(options.sessionOptions === undefined ? {} : { sessionOptions: options.sessionOptions }),
    ...(options.maxWorkers === undefined ? {} : { maxWorkers: options.maxWorkers }),
    name: typeof source === 'string' ? source : 'text embedder',
    // The texts cross to the session's thread, which tokenizes and packs them: `text` is a closure, so it stays here.
    feeds: new SessionFeeds(textFeedsModule(settings), (records, label) =>
      records.map((record) => {
        const value = text(record);
        // Checked before anything is sent: the builder takes strings.
        if (typeof value !== 'string') throw new TypeError(`${label}: the n-gram tokenizer takes a string, got ${describeValue(value)}`);
        return value;
      }),
    ),
    outputs: (results, records) =>
      splitRows(results[EMBEDDER_IO.output] as Tensor).map((row, i) => output(row as Float32Array, records[i]!)),
  };
  return perSubtask(() => new OnnxBatchFunction(spec));
}
