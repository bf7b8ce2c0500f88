import { describeValue, OptionChecker } from '@tributary/core';

/** Scripts whose characters are each about one token (or more) in BPE vocabularies. */
const DENSE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/gu;
const WORD = /\S+/g;

/**
 * An estimate of the number of tokens `text` takes, without a tokenizer.
 *
 * The approximation: OpenAI's rule of thumb of ~4 characters per token for
 * English, counting each Chinese, Japanese or Korean character as one token,
 * and never fewer tokens than whitespace-separated words. On English prose
 * with cl100k/o200k-style tokenizers it lands within about 10-20% and usually
 * above the true count; code, numbers and rare scripts can be 1.5-2x more
 * tokens than estimated. Keep a margin under a hard limit (e.g. budget 80% of
 * it), or pass a real tokenizer to {@link tokenWeigher}.
 *
 * @example
 * ```ts
 * approximateTokens('The quick brown fox jumps over the lazy dog'); // 11
 * ```
 */
export function approximateTokens(text: string): number {
  // Called from plain JavaScript too: say what is wrong rather than fail inside String.prototype.match.
  if (typeof text !== 'string') throw new TypeError(`approximateTokens: text must be a string, got ${describeValue(text)}`);
  if (text === '') return 0;
  const dense = text.match(DENSE_SCRIPT)?.length ?? 0;
  const byChars = dense + Math.ceil((text.length - dense) / 4);
  const words = text.match(WORD)?.length ?? 0;
  return Math.max(byChars, words);
}

/**
 * A `weigher` for the async batch operator's `maxBatchWeight`: the token
 * count of a record's text, so one request stays under a provider's token
 * budget (OpenAI embeddings: 300,000 tokens per request; a model's context
 * per input).
 *
 * Details: `count` defaults to {@link approximateTokens}; pass a real
 * tokenizer's `(text) => encode(text).length` for exact budgets. A record
 * heavier than the whole budget travels alone in its batch (the operator's
 * rule), so the server decides what to do with it. An argument that is not a
 * function throws an `InvalidJobError` when it is called, i.e. when the stream
 * is built; a record whose `text(record)` is not a string fails with a
 * `TypeError` naming `tokenWeigher` and the value.
 *
 * @example
 * ```ts
 * AsyncDataStream.unorderedWaitBatch(docs, embed, {
 *   maxBatchSize: 2048,
 *   maxBatchWeight: 240_000, // 80% of 300k: approximateTokens is an estimate
 *   weigher: tokenWeigher((doc: Doc) => doc.body),
 * });
 * ```
 */
export function tokenWeigher<TIn>(text: (record: TIn) => string, count: (text: string) => number = approximateTokens): (record: TIn) => number {
  // Checked when the stream is built: a wrong argument (`tokenWeigher('body')`) would fail only at the first record.
  const check = new OptionChecker('tokenWeigher');
  if (typeof text !== 'function') check.fail(`argument 'text' must be a function, got ${describeValue(text)}`);
  if (typeof count !== 'function') check.fail(`argument 'count' must be a function, got ${describeValue(count)}`);
  return (record) => {
    const t = text(record);
    if (typeof t !== 'string') throw new TypeError(`tokenWeigher: text(record) must return a string, got ${describeValue(t)}`);
    return count(t);
  };
}
