import { describe, expect, it } from 'vitest';
import { InvalidJobError } from '@tributary/core';
import { openAIChat, openAIEmbeddings } from '../src/index.js';
import { parseRetryAfter } from '../src/internal/retryAfter.js';

const DAY = 24 * 60 * 60 * 1000;
const NONSENSE = [
  [Number.POSITIVE_INFINITY, 'Infinity'],
  [Number.NaN, 'NaN'],
  [-1, '-1'],
] as const;
const LONG = [2 ** 31, 30 * DAY];

const ADAPTERS = [
  ['openAIEmbeddings', (o: object) => openAIEmbeddings<string>({ model: 'm', text: (t) => t, ...o })],
  ['openAIChat', (o: object) => openAIChat<string>({ model: 'm', text: (t) => t, ...o })],
] as const;

describe('durations of the OpenAI adapters', () => {
  describe.each(ADAPTERS.flatMap(([owner, build]) => ['defaultRetryAfterMs', 'maxRetryAfterMs'].map((option) => [owner, option, build] as const)))(
    '%s: %s',
    (owner, option, build) => {
      it.each(NONSENSE)('rejects %s when created, naming the adapter and the option', (value, shown) => {
        expect(() => build({ [option]: value })).toThrow(InvalidJobError);
        expect(() => build({ [option]: value })).toThrow(`${owner}: option '${option}' must be a finite number of milliseconds >= 0, got ${shown}`);
      });

      it.each(LONG)('accepts %s ms', (value) => {
        // A default wait needs a cap at least as long: the cap bounds every wait.
        expect(() => build({ [option]: value, ...(option === 'defaultRetryAfterMs' ? { maxRetryAfterMs: value } : {}) })).not.toThrow();
      });
    },
  );

  it('says a cap is required when maxRetryAfterMs is Infinity', () => {
    expect(() => openAIEmbeddings<string>({ model: 'm', text: (t) => t, maxRetryAfterMs: Number.POSITIVE_INFINITY })).toThrow(
      '(a cap is required; give a finite number of ms)',
    );
  });

  it('refuses a defaultRetryAfterMs above maxRetryAfterMs, the cap it would never reach', () => {
    expect(() => openAIEmbeddings<string>({ model: 'm', text: (t) => t, defaultRetryAfterMs: 5000, maxRetryAfterMs: 1000 })).toThrow(
      "openAIEmbeddings: option 'defaultRetryAfterMs' (5000) is above 'maxRetryAfterMs' (1000), the cap of every wait; raise maxRetryAfterMs",
    );
    expect(() => openAIEmbeddings<string>({ model: 'm', text: (t) => t, defaultRetryAfterMs: 1000, maxRetryAfterMs: 1000 })).not.toThrow();
  });

  it('caps a 30-day, an overflowing or a far-future Retry-After at maxRetryAfterMs', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    const cap = 60_000;
    const waits = [
      { 'retry-after': String((30 * DAY) / 1000) },
      { 'retry-after-ms': String(30 * DAY) },
      { 'retry-after': '9'.repeat(400) },
      { 'retry-after': 'Fri, 01 Jan 2100 00:00:00 GMT' },
    ].map((h) => parseRetryAfter(new Headers(h), now, 1000, cap));
    expect(waits).toEqual([cap, cap, cap, cap]);
  });
});
