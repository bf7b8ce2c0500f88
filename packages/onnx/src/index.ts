export { OnnxBatchFunction, onnxBatchFunction } from './batch/OnnxBatchFunction.js';
export type { OnnxBatchFunctionOptions, OnnxCallContext, OnnxResultFuture } from './batch/OnnxBatchFunction.js';
export { OnnxInputError } from './batch/validateFeeds.js';
export {
  DEFAULT_EMBEDDER_CONFIG,
  DEFAULT_MODEL_CACHE_DIR,
  EMBEDDER_IO,
  FALLBACK_MODEL_CACHE_DIR,
  buildEmbedderModel,
  ensureEmbedderModel,
  generateEmbedderModel,
} from './model/embedderModel.js';
export type { EmbedderModel, EmbedderModelConfig } from './model/embedderModel.js';
export { packSequences, splitRows } from './tensors/packing.js';
export type { PackSequencesOptions, PackedSequences } from './tensors/packing.js';
export { createNgramTokenizer } from './text/ngramTokenizer.js';
export type { NgramTokenizer, NgramTokenizerOptions } from './text/ngramTokenizer.js';
export { onnxTextEmbedder } from './text/onnxTextEmbedder.js';
export type { OnnxRecordEmbedderOptions, OnnxTextEmbedderOptions } from './text/onnxTextEmbedder.js';
// onnxruntime-node's tensor and session types, from the copy this package runs: feeds builders and outputs splitters need them.
export { Tensor } from 'onnxruntime-node';
export type { InferenceSession } from 'onnxruntime-node';
