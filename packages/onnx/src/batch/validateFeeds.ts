import { NonRetryableError } from '@tributary/async';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

/**
 * A batch's tensors do not fit the model: wrong input name, element type,
 * rank or dimension size.
 *
 * Thrown before the session runs, so the message names the model's input
 * and what it expects instead of onnxruntime's internal error. Not worth
 * retrying: the same records build the same tensors, so it is a
 * `NonRetryableError` and the async operator gives up at once.
 */
export class OnnxInputError extends NonRetryableError {
  override readonly name = 'OnnxInputError';

  constructor(
    message: string,
    /** The model input the problem is about. */
    readonly inputName: string,
    /** What the model declares, e.g. `int64 [batch, sequence]`. */
    readonly expected: string,
    /** What the feeds gave, e.g. `float32 [4, 7]`, or `missing`. */
    readonly actual: string,
  ) {
    super(message);
  }
}

type Feeds = Readonly<Record<string, Tensor>>;

/**
 * Checks feeds against a session's input metadata: every tensor input is
 * fed, no unknown names, element types equal, ranks equal, fixed dimensions
 * equal, and a symbolic dimension (`batch`, `sequence`) has one size across
 * all inputs that share it.
 */
export function validateFeeds(
  feeds: Feeds,
  inputs: readonly InferenceSession.ValueMetadata[],
  modelLabel: string,
): void {
  // Runs before every session call: the messages are built only when a check fails.
  for (const name of Object.keys(feeds)) {
    if (!inputs.some((input) => input.name === name)) {
      const known = inputs.map((input) => `'${input.name}' (${describeDeclared(input)})`).join(', ');
      throw new OnnxInputError(
        `${modelLabel}: the feeds contain '${name}', which is not an input of the model; its inputs are ${known}`,
        name,
        'no such input',
        describeTensor(feeds[name]!),
      );
    }
  }

  const symbols = new Map<string, { size: number; input: string }>();
  for (const input of inputs) {
    if (!input.isTensor) continue;
    const feed = feeds[input.name];
    if (feed === undefined) throw mismatch(modelLabel, input, 'but the feeds do not contain it', 'missing');
    if (feed.type !== input.type) throw mismatch(modelLabel, input, `(element type ${feed.type})`, feed);
    if (feed.dims.length !== input.shape.length) {
      throw mismatch(modelLabel, input, `(rank ${feed.dims.length}, expected rank ${input.shape.length})`, feed);
    }
    for (let axis = 0; axis < input.shape.length; axis++) {
      const dim = input.shape[axis]!;
      const size = feed.dims[axis]!;
      if (typeof dim === 'number') {
        // Non-positive sizes in metadata mean "unknown", not a constraint.
        if (dim > 0 && size !== dim) throw mismatch(modelLabel, input, `(dimension ${axis} must be ${dim})`, feed);
        continue;
      }
      if (dim === '') continue;
      const seen = symbols.get(dim);
      if (seen === undefined) symbols.set(dim, { size, input: input.name });
      else if (seen.size !== size) {
        throw mismatch(modelLabel, input, `(${dim} = ${size}, but input '${seen.input}' has ${dim} = ${seen.size})`, feed);
      }
    }
  }
}

/** The error for a feed that does not fit `input`: `got <feed> <problem>`, or `problem` alone when the feed is missing. */
function mismatch(modelLabel: string, input: InferenceSession.ValueMetadata, problem: string, feed: Tensor | 'missing'): OnnxInputError {
  const expected = describeDeclared(input);
  const actual = feed === 'missing' ? feed : describeTensor(feed);
  const detail = feed === 'missing' ? problem : `got ${actual} ${problem}`;
  return new OnnxInputError(`${modelLabel}: input '${input.name}' expects ${expected}, ${detail}`, input.name, expected, actual);
}

function describeDeclared(input: InferenceSession.ValueMetadata): string {
  return input.isTensor ? `${input.type} [${input.shape.join(', ')}]` : 'a non-tensor value';
}

function describeTensor(tensor: Tensor): string {
  return `${tensor.type} [${tensor.dims.join(', ')}]`;
}
