import { EMBEDDER_IO } from '../model/embedderModel.js';
import type { FeedsBuilder, FeedsModule } from '../session/feedsModule.js';
import { packSequences } from '../tensors/packing.js';
import { ngramBatchTokenizer, type TokenizerSettings } from './ngramTokenizer.js';

/**
 * The text embedder's feeds builder, loaded by the thread that runs the
 * session (a session worker, by default): tokenizes each text and packs the
 * ids, padded to the batch's longest text, with their attention mask.
 */
export function textFeeds(settings: TokenizerSettings): FeedsBuilder {
  const tokenize = ngramBatchTokenizer(settings);
  return (texts) => {
    const { ids, mask } = packSequences(tokenize(texts as readonly string[]));
    return { [EMBEDDER_IO.ids]: ids, [EMBEDDER_IO.mask]: mask };
  };
}

/** {@link textFeeds} with these settings, named by data for the session's thread. */
export function textFeedsModule(settings: TokenizerSettings): FeedsModule {
  return { module: import.meta.url, name: 'textFeeds', options: settings };
}
