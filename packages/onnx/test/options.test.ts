import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import {
  buildEmbedderModel,
  createNgramTokenizer,
  ensureEmbedderModel,
  generateEmbedderModel,
  onnxBatchFunction,
  onnxTextEmbedder,
  packSequences,
} from '../src/index.js';

/**
 * Every public entry point of @tributary/onnx with bad options: each row
 * must fail (throw, or reject for the async ones) with an InvalidJobError
 * whose message holds `error`, before any model is built or loaded.
 * Add a row for every new option.
 */
type BadInput = readonly [title: string, build: () => unknown, error: string];

const batchFunction = (options: Record<string, unknown>) => () =>
  onnxBatchFunction({ model: 'm.onnx', feeds: () => ({}), outputs: () => [], ...options });
const embedder = (options: Record<string, unknown>) => () => onnxTextEmbedder({ model: 'm.onnx', ...options } as never);

const cases: readonly BadInput[] = [
  ['onnxBatchFunction: no options', () => onnxBatchFunction(undefined as never), 'onnxBatchFunction: needs an options object'],
  ['onnxBatchFunction: misspelled key', batchFunction({ sesionOptions: {} }), "onnxBatchFunction: unknown option 'sesionOptions'; did you mean 'sessionOptions'?"],
  ['onnxBatchFunction: model missing', batchFunction({ model: undefined }), "onnxBatchFunction: option 'model' must be a non-empty string, got undefined"],
  ['onnxBatchFunction: feeds not a function', batchFunction({ feeds: {} }), "option 'feeds' must be a function, got an object"],
  ['onnxBatchFunction: output instead of outputs', batchFunction({ outputs: undefined, output: () => [] }), "unknown option 'output'; did you mean 'outputs'?"],
  ['onnxBatchFunction: sessionOptions a number', batchFunction({ sessionOptions: 2 }), "option 'sessionOptions' must be an object, got 2"],
  [
    'onnxBatchFunction: sessionOptions holding a function',
    batchFunction({ sessionOptions: { extra: { note: () => 'x' } } }),
    "onnxBatchFunction: option 'sessionOptions' must be plain data, as every session worker gets a copy: ",
  ],
  ['onnxTextEmbedder: sessionOptions holding a symbol', embedder({ sessionOptions: { extra: { tag: Symbol('t') } } }), "onnxTextEmbedder: option 'sessionOptions' must be plain data"],
  [
    'onnxTextEmbedder: misspelled session option',
    embedder({ sessionOptions: { intraOpNumThread: 1 } }),
    "onnxTextEmbedder: unknown option 'sessionOptions.intraOpNumThread'; did you mean 'sessionOptions.intraOpNumThreads'?",
  ],
  ['onnxBatchFunction: intraOpNumThreads -1', batchFunction({ sessionOptions: { intraOpNumThreads: -1 } }), "option 'sessionOptions.intraOpNumThreads' must be an integer >= 0, got -1"],
  ['onnxBatchFunction: interOpNumThreads 1.5', batchFunction({ sessionOptions: { interOpNumThreads: 1.5 } }), "option 'sessionOptions.interOpNumThreads' must be an integer >= 0, got 1.5"],
  [
    'onnxTextEmbedder: graphOptimizationLevel unknown',
    embedder({ sessionOptions: { graphOptimizationLevel: 'bogus' } }),
    "option 'sessionOptions.graphOptimizationLevel' must be 'disabled', 'basic', 'extended', 'layout' or 'all', got 'bogus'",
  ],
  ['onnxBatchFunction: maxWorkers -1', batchFunction({ maxWorkers: -1 }), "onnxBatchFunction: option 'maxWorkers' must be an integer in [0, 256], got -1"],
  ['onnxBatchFunction: misspelled maxWorkers', batchFunction({ maxworkers: 2 }), "unknown option 'maxworkers'; did you mean 'maxWorkers'?"],
  ['onnxTextEmbedder: maxWorkers 1.5', embedder({ maxWorkers: 1.5 }), "onnxTextEmbedder: option 'maxWorkers' must be an integer in [0, 256], got 1.5"],
  ['onnxTextEmbedder: no options', () => onnxTextEmbedder(undefined as never), 'onnxTextEmbedder: needs an options object'],
  ['onnxTextEmbedder: model missing', () => onnxTextEmbedder({} as never), "onnxTextEmbedder: option 'model' must be a non-empty string, got undefined"],
  ['onnxTextEmbedder: model an object without path', embedder({ model: { vocab: 8192 } }), "option 'model' must be a generated EmbedderModel, a path or the model's bytes, got an object"],
  ['onnxTextEmbedder: misspelled key', embedder({ maxlength: 64 }), "onnxTextEmbedder: unknown option 'maxlength'; did you mean 'maxLength'?"],
  ['onnxTextEmbedder: text not a function', embedder({ text: 'body' }), "option 'text' must be a function, got 'body'"],
  ['onnxTextEmbedder: ngram 0', embedder({ ngram: 0 }), "onnxTextEmbedder: option 'ngram' must be an integer >= 1, got 0"],
  ['createNgramTokenizer: misspelled key', () => createNgramTokenizer({ ngrams: 3 } as never), "createNgramTokenizer: unknown option 'ngrams'; did you mean 'ngram'?"],
  ['createNgramTokenizer: vocab beyond Uint32', () => createNgramTokenizer({ vocab: 2 ** 33 }), "option 'vocab' must be an integer in [2, 4294967296], got 8589934592"],
  ['createNgramTokenizer: maxLength NaN', () => createNgramTokenizer({ maxLength: Number.NaN }), "option 'maxLength' must be an integer >= 1, got NaN"],
  ['buildEmbedderModel: misspelled key', () => buildEmbedderModel({ outputdim: 64 } as never), "buildEmbedderModel: unknown option 'outputdim'; did you mean 'outputDim'?"],
  ['buildEmbedderModel: dim NaN', () => buildEmbedderModel({ dim: Number.NaN }), "buildEmbedderModel: option 'dim' must be an integer in [1, 4096], got NaN"],
  ['generateEmbedderModel: no path', () => generateEmbedderModel({} as never), "generateEmbedderModel: option 'path' must be a non-empty string, got undefined"],
  ['generateEmbedderModel: misspelled key', () => generateEmbedderModel({ path: '/tmp/m.onnx', seeds: 1 } as never), "unknown option 'seeds'; did you mean 'seed'?"],
  ['ensureEmbedderModel: misspelled key', () => ensureEmbedderModel({ cachedir: '/tmp' } as never), "ensureEmbedderModel: unknown option 'cachedir'; did you mean 'cacheDir'?"],
  ['ensureEmbedderModel: cacheDir a number', () => ensureEmbedderModel({ cacheDir: 1 } as never), "option 'cacheDir' must be a non-empty string, got 1"],
  ['packSequences: misspelled key', () => packSequences([[1]], { masktype: 'int64' } as never), "packSequences: unknown option 'masktype'; did you mean 'maskType'?"],
  ['packSequences: idsType int16', () => packSequences([[1]], { idsType: 'int16' as never }), "option 'idsType' must be 'int64' or 'int32', got 'int16'"],
  ['packSequences: maskType bool', () => packSequences([[1]], { maskType: 'bool' as never }), "option 'maskType' must be 'float32', 'int64' or 'int32', got 'bool'"],
  ['packSequences: padId -1', () => packSequences([[1]], { padId: -1 }), "option 'padId' must be an integer >= 0, got -1"],
];

async function failureOf(build: () => unknown): Promise<unknown> {
  try {
    await build();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('options are checked', () => {
  it.each(cases)('%s', async (_title, build, error) => {
    const failure = await failureOf(build);
    expect(failure).toBeInstanceOf(InvalidJobError);
    expect((failure as Error).message).toContain(error);
  });
});
