import { parseArgs } from 'node:util';
import { DEFAULT_EMBEDDER_CONFIG, DEFAULT_MODEL_CACHE_DIR, ensureEmbedderModel, generateEmbedderModel } from '../model/embedderModel.js';

const USAGE = `Usage: tributary-onnx-model [--out FILE] [--seed N] [--vocab N] [--dim N] [--output-dim N]

Writes the hashed character n-gram text embedder model (ONNX, opset 18).
Without --out it goes to the package's model cache (${DEFAULT_MODEL_CACHE_DIR}),
where ensureEmbedderModel() finds it. Defaults: seed ${DEFAULT_EMBEDDER_CONFIG.seed}, vocab ${DEFAULT_EMBEDDER_CONFIG.vocab}, dim ${DEFAULT_EMBEDDER_CONFIG.dim}.`;

/**
 * The model generator's command line; returns the exit code. Bad flags are
 * one line on `error`, not a stack trace.
 */
export async function runGenerateModelCli(
  argv: readonly string[],
  io: { readonly log: (line: string) => void; readonly error: (line: string) => void },
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        out: { type: 'string' },
        seed: { type: 'string' },
        vocab: { type: 'string' },
        dim: { type: 'string' },
        'output-dim': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    io.error(`tributary-onnx-model: ${(error as Error).message} (see --help)`);
    return 2;
  }
  if (values.help === true) {
    io.log(USAGE);
    return 0;
  }
  const config = {
    ...numberFlag('seed', values.seed),
    ...numberFlag('vocab', values.vocab),
    ...numberFlag('dim', values.dim),
    ...numberFlag('outputDim', values['output-dim']),
  };
  try {
    const model =
      values.out === undefined
        ? await ensureEmbedderModel(config)
        : await generateEmbedderModel({ ...config, path: values.out });
    io.log(`${model.path} (seed ${model.seed}, vocab ${model.vocab}, dim ${model.dim}, output ${model.outputDim})`);
    return 0;
  } catch (error) {
    io.error(`tributary-onnx-model: ${(error as Error).message}`);
    return 1;
  }
}

function numberFlag(option: string, value: string | undefined): Record<string, number> {
  // Number('') is 0 and Number('x') is NaN: both are then rejected by the range check with the option's name.
  return value === undefined ? {} : { [option]: value.trim() === '' ? Number.NaN : Number(value) };
}
