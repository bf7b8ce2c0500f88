import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { openAIChat, openAIEmbeddings, tokenWeigher } from '../src/index.js';

/**
 * Every public entry point of @tributary/openai with bad options: each row
 * must fail when the function is created with an InvalidJobError whose
 * message holds `error`. Add a row for every new option.
 */
type BadInput = readonly [title: string, build: () => unknown, error: string];

const text = (s: string): string => s;
const embeddings = (options: Record<string, unknown>) => () => openAIEmbeddings({ model: 'm', text, ...options } as never);
const chat = (options: Record<string, unknown>) => () => openAIChat({ model: 'm', text, ...options } as never);

const cases: readonly BadInput[] = [
  ['embeddings: no options', () => openAIEmbeddings(undefined as never), 'openAIEmbeddings: needs an options object'],
  ['embeddings: options a string', () => openAIEmbeddings('text-embedding-3-small' as never), 'openAIEmbeddings: needs an options object'],
  ['embeddings: model missing', () => openAIEmbeddings({ text } as never), "openAIEmbeddings: option 'model' must be a non-empty string, got undefined"],
  ['embeddings: text a string', embeddings({ text: 'body' }), "openAIEmbeddings: option 'text' must be a function, got 'body'"],
  ['embeddings: apikey', embeddings({ apikey: 'sk-1' }), "openAIEmbeddings: unknown option 'apikey'; did you mean 'apiKey'?"],
  ['embeddings: baseURL', embeddings({ baseURL: 'http://127.0.0.1:1/v1' }), "unknown option 'baseURL'; did you mean 'baseUrl'?"],
  ['embeddings: dimension', embeddings({ dimension: 8 }), "unknown option 'dimension'; did you mean 'dimensions'?"],
  ['embeddings: encoding_format', embeddings({ encoding_format: 'base64' }), "unknown option 'encoding_format'; did you mean 'encodingFormat'?"],
  ['embeddings: dimensions 1.5', embeddings({ dimensions: 1.5 }), "option 'dimensions' must be an integer >= 1, got 1.5"],
  ['embeddings: dimensions overflow', embeddings({ dimensions: 2 ** 60 }), "option 'dimensions' must be an integer <= 9007199254740991"],
  ['embeddings: float32 a string', embeddings({ float32: 'yes' }), "option 'float32' must be true or false, got 'yes'"],
  ['embeddings: body an array', embeddings({ body: [] }), "option 'body' must be an object, got an array"],
  ['embeddings: body sets model', embeddings({ body: { model: 'other' } }), "openAIEmbeddings: option 'body' must not set 'model': the adapter sets it from option 'model'"],
  ['embeddings: body sets input', embeddings({ body: { input: ['x'] } }), "openAIEmbeddings: option 'body' must not set 'input': the adapter sets it from option 'text'"],
  [
    'embeddings: body sets dimensions besides the option',
    embeddings({ dimensions: 8, body: { dimensions: 16 } }),
    "openAIEmbeddings: option 'body' must not set 'dimensions': the adapter sets it from option 'dimensions'",
  ],
  [
    'embeddings: body sets encoding_format besides the option',
    embeddings({ encodingFormat: 'base64', body: { encoding_format: 'float' } }),
    "openAIEmbeddings: option 'body' must not set 'encoding_format': the adapter sets it from option 'encodingFormat'",
  ],
  ['chat: body sets model', chat({ body: { model: 'other' } }), "openAIChat: option 'body' must not set 'model': the adapter sets it from option 'model'"],
  ['chat: body sets messages', chat({ body: { messages: [] } }), "openAIChat: option 'body' must not set 'messages': the adapter sets it from option 'text' or 'messages'"],
  ['chat: no options', () => openAIChat(undefined as never), 'openAIChat: needs an options object'],
  ['chat: apikey', chat({ apikey: 'sk-1' }), "openAIChat: unknown option 'apikey'; did you mean 'apiKey'?"],
  ['chat: sytem', chat({ sytem: 'Be brief.' }), "unknown option 'sytem'; did you mean 'system'?"],
  ['chat: message', () => openAIChat({ model: 'm', message: () => [] } as never), "unknown option 'message'; did you mean 'messages'?"],
  ['chat: header', chat({ header: { 'x-a': 'b' } }), "unknown option 'header'; did you mean 'headers'?"],
  ['chat: header in two cases', chat({ headers: { 'X-A': 'b', 'x-a': 'c' } }), "openAIChat: header 'x-a' is given twice ('X-A' and 'x-a')"],
  ['chat: text a string', chat({ text: 'hello' }), "openAIChat: option 'text' must be a function, got 'hello'"],
  ['chat: system not a string', chat({ system: 3 }), "option 'system' must be a non-empty string, got 3"],
  ['tokenWeigher: text a string', () => tokenWeigher('body' as never), "tokenWeigher: argument 'text' must be a function, got 'body'"],
  ['tokenWeigher: count a number', () => tokenWeigher(text, 4 as never), "tokenWeigher: argument 'count' must be a function, got 4"],
];

describe('options are checked when a function is created', () => {
  it.each(cases)('%s', (_title, build, error) => {
    expect(build).toThrow(InvalidJobError);
    expect(build).toThrow(error);
  });
});
