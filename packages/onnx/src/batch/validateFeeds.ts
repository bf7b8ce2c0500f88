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
  const declared = new Map(inputs.map((input) => [input.name, input]));
  for (const name of Object.keys(feeds)) {
    if (!declared.has(name)) {
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
    const fail = (problem: string, actual: string): OnnxInputError => {
      const expected = describeDeclared(input);
      return new OnnxInputError(`${modelLabel}: input '${input.name}' expects ${expected}, ${problem}`, input.name, expected, actual);
    };
    const feed = feeds[input.name];
    if (feed === undefined) throw fail('but the feeds do not contain it', 'missing');
    const actual = describeTensor(feed);
    if (feed.type !== input.type) throw fail(`got ${actual} (element type ${feed.type})`, actual);
    if (feed.dims.length !== input.shape.length) {
      throw fail(`got ${actual} (rank ${feed.dims.length}, expected rank ${input.shape.length})`, actual);
    }
    for (const [axis, dim] of input.shape.entries()) {
      const size = feed.dims[axis]!;
      if (typeof dim === 'number') {
        // Non-positive sizes in metadata mean "unknown", not a constraint.
        if (dim > 0 && size !== dim) throw fail(`got ${actual} (dimension ${axis} must be ${dim})`, actual);
        continue;
      }
      if (dim === '') continue;
      const seen = symbols.get(dim);
      if (seen === undefined) symbols.set(dim, { size, input: input.name });
      else if (seen.size !== size) {
        throw fail(`got ${actual} (${dim} = ${size}, but input '${seen.input}' has ${dim} = ${seen.size})`, actual);
      }
    }
  }
}

function describeDeclared(input: InferenceSession.ValueMetadata): string {
  return input.isTensor ? `${input.type} [${input.shape.join(', ')}]` : 'a non-tensor value';
}

function describeTensor(tensor: Tensor): string {
  return `${tensor.type} [${tensor.dims.join(', ')}]`;
}
