import { seededRandom } from '@tributary/core';

/** One document of the corpus: a line of the input file. */
export interface Doc {
  readonly id: string;
  readonly text: string;
}

/** How a planted near-duplicate differs from its original: one edit, or none (`repost`, an exact copy). */
export type Edit = 'substitute' | 'insert' | 'delete' | 'typo' | 'punctuation' | 'repost';

/** A near-duplicate pair the generator planted: `duplicate` is `original` after one `edit` (a repost: the same text). */
export interface PlantedPair {
  readonly original: string;
  readonly duplicate: string;
  readonly edit: Edit;
}

export interface Corpus {
  readonly docs: readonly Doc[];
  readonly planted: readonly PlantedPair[];
}

export interface CorpusOptions {
  /** Documents in the corpus, planted duplicates included. */
  readonly docs: number;
  /** Same seed, same corpus. Default 7. */
  readonly seed?: number;
  /** Share of documents that are a near-duplicate of an earlier one. Default 0.08. */
  readonly duplicateShare?: number;
  /**
   * Share of documents that are an exact copy of an earlier one (a syndicated
   * repost, boilerplate). Default 0, the corpus of the benchmarks; the
   * command line's corpus has {@link REPOST_SHARE}.
   */
  readonly repostShare?: number;
}

/** The share of exact reposts in the corpus the command line generates: a crawl holds syndicated copies. */
export const REPOST_SHARE = 0.1;

const PEOPLE = [
  'Amara', 'Bruno', 'Chen', 'Dagny', 'Emeka', 'Farida', 'Gustav', 'Hana', 'Ilya', 'Jonas', 'Kaveh', 'Leila', 'Mateo', 'Nadia',
  'Oskar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tamsin', 'Umar', 'Vera', 'Wendell', 'Ximena', 'Yusuf', 'Zofia', 'Anselm', 'Beatriz',
  'Cormac', 'Delphine', 'Eskil', 'Fumiko', 'Gideon', 'Hortense', 'Ingrid', 'Jovan', 'Kalinda', 'Lorcan', 'Marisol', 'Nikolai',
  'Odette', 'Pascal', 'Rafferty', 'Saoirse', 'Thaddeus', 'Ulrike', 'Valentin', 'Wilhelmina', 'Yevgenia', 'Zebulon',
];
const CITIES = [
  'Aberdeen', 'Bergen', 'Coimbra', 'Dubrovnik', 'Eindhoven', 'Florence', 'Gdansk', 'Heidelberg', 'Innsbruck', 'Jaipur', 'Kyoto',
  'Lyon', 'Marseille', 'Nantes', 'Oaxaca', 'Porto', 'Quebec', 'Reykjavik', 'Salzburg', 'Tallinn', 'Utrecht', 'Valparaiso',
  'Winnipeg', 'Yokohama', 'Zagreb', 'Antwerp', 'Bologna', 'Cusco', 'Dresden', 'Esbjerg', 'Freiburg', 'Galway', 'Hobart',
  'Izmir', 'Krakow', 'Ljubljana', 'Montevideo', 'Nairobi', 'Odense', 'Plovdiv',
];
const ADJECTIVES = [
  'ancient', 'bright', 'crooked', 'dusty', 'enormous', 'fragile', 'gleaming', 'hollow', 'icy', 'jagged', 'knotted', 'luminous',
  'muddy', 'narrow', 'ornate', 'polished', 'quiet', 'rusty', 'sturdy', 'tangled', 'unusual', 'velvet', 'weathered', 'yellow',
  'zigzag', 'amber', 'brittle', 'copper', 'drowsy', 'elegant', 'faded', 'granite', 'humble', 'ivory', 'jubilant', 'lopsided',
  'marble', 'nimble', 'orange', 'patched', 'restless', 'silver', 'towering', 'upholstered', 'vivid', 'wooden', 'scarlet',
  'peculiar', 'sunken', 'forgotten',
];
const NOUNS = [
  'lantern', 'bicycle', 'telescope', 'violin', 'tractor', 'greenhouse', 'carousel', 'lighthouse', 'windmill', 'aqueduct',
  'sailboat', 'typewriter', 'accordion', 'wheelbarrow', 'chandelier', 'gramophone', 'compass', 'hammock', 'kettle', 'ladder',
  'mailbox', 'notebook', 'orchard', 'pavilion', 'quilt', 'radiator', 'satchel', 'trellis', 'umbrella', 'vineyard', 'wagon',
  'fountain', 'bakery', 'canoe', 'drawbridge', 'easel', 'footbridge', 'gazebo', 'harpsichord', 'igloo', 'jukebox', 'kiosk',
  'locomotive', 'monastery', 'observatory', 'piano', 'sundial', 'tapestry', 'bookshelf', 'scarecrow', 'weathervane', 'clocktower',
  'birdhouse', 'ferry', 'tramway', 'granary',
];
const VERBS = [
  'repaired', 'painted', 'discovered', 'auctioned', 'photographed', 'restored', 'dismantled', 'inspected', 'delivered',
  'borrowed', 'rebuilt', 'sketched', 'measured', 'polished', 'abandoned', 'donated', 'relocated', 'catalogued', 'decorated',
  'examined', 'purchased', 'renovated', 'salvaged', 'unveiled', 'varnished', 'rescued', 'assembled', 'cleaned', 'displayed',
  'exhibited',
];
const PLACES = [
  'harbour', 'library', 'market square', 'train station', 'town hall', 'botanical garden', 'old quarry', 'river bank',
  'museum', 'school yard', 'cathedral', 'fish market', 'city park', 'ferry terminal', 'bus depot', 'fire station', 'post office',
  'flea market', 'village green', 'customs house', 'sports hall', 'east pier', 'covered bridge', 'observatory hill',
];
const EVENTS = [
  'storm', 'festival', 'flood', 'parade', 'heatwave', 'blackout', 'marathon', 'carnival', 'snowfall', 'regatta', 'harvest fair',
  'election', 'power cut', 'jazz week', 'book fair', 'eclipse', 'strike', 'fireworks night', 'tournament', 'open day',
];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
/** Words an `insert` edit adds in front of an adjective... */
const DEGREES = ['very', 'quite', 'rather', 'truly', 'oddly', 'strangely', 'slightly', 'remarkably'];
/** ...or in front of a verb. */
const MANNERS = ['carefully', 'quickly', 'finally', 'secretly', 'gladly', 'proudly', 'hastily', 'quietly'];

type Slot = 'PERSON' | 'CITY' | 'ADJ' | 'NOUN' | 'VERB' | 'PLACE' | 'EVENT' | 'MONTH' | 'DAY' | 'NUMBER';
const WORDS: Record<Exclude<Slot, 'NUMBER'>, readonly string[]> = {
  PERSON: PEOPLE,
  CITY: CITIES,
  ADJ: ADJECTIVES,
  NOUN: NOUNS,
  VERB: VERBS,
  PLACE: PLACES,
  EVENT: EVENTS,
  MONTH: MONTHS,
  DAY: DAYS,
};

/** Sentence templates: few fixed words, many slots, so unrelated documents share little text. */
const TEMPLATES = [
  '{PERSON} from {CITY} {VERB} a {ADJ} {NOUN} near the {PLACE} on {DAY}.',
  'The {ADJ} {NOUN} at the {PLACE} was {VERB} by {NUMBER} volunteers after the {EVENT}.',
  'Residents of {CITY} say the {NOUN} has looked {ADJ} since {MONTH}.',
  'According to {PERSON}, the {PLACE} will reopen with a {ADJ} {NOUN} in {MONTH}.',
  'Nobody expected the {NOUN} to be so {ADJ}, {PERSON} told reporters in {CITY}.',
  'A {ADJ} {NOUN} {VERB} during the {EVENT} left {NUMBER} families in {CITY} waiting.',
  '{PERSON} and {PERSON} {VERB} the {ADJ} {NOUN} before the {EVENT}.',
  'In {MONTH} the {PLACE} of {CITY} {VERB} {NUMBER} {ADJ} postcards.',
  'Tickets for the {EVENT} sold out while {PERSON} {VERB} the {NOUN}.',
  'Why is the {NOUN} behind the {PLACE} {ADJ}, asked {PERSON} on {DAY}?',
  'Every {DAY} {PERSON} walks past the {ADJ} {NOUN} of {CITY}.',
  'Experts {VERB} {NUMBER} {ADJ} {NOUN} parts from the {PLACE}.',
  '{PERSON} {VERB} a {NOUN} in {CITY}.',
  'On {DAY} {PERSON} found a {ADJ} {NOUN} by the {PLACE}.',
  '{CITY} got its {ADJ} {NOUN} back in {MONTH}.',
  'The {EVENT} in {CITY} drew {NUMBER} fans of the {ADJ} {NOUN}.',
  '{PERSON} keeps {NUMBER} {ADJ} {NOUN} models at the {PLACE}.',
  'A {NOUN} from {CITY} was {VERB} for {PERSON} on {DAY}.',
  'Is the {ADJ} {NOUN} of {CITY} for sale, {PERSON} wondered.',
  'By {MONTH} the {NOUN} was {ADJ} and {ADJ}.',
  '{PERSON} {VERB} the {PLACE} {NOUN} twice before the {EVENT}.',
  'Crowds in {CITY} {VERB} a {ADJ} {NOUN} after the {EVENT}.',
  'The {PLACE} lent its {ADJ} {NOUN} to {PERSON} until {MONTH}.',
  'Old {NOUN} plans from {CITY} show a {ADJ} {PLACE}.',
];

/**
 * Generates a corpus of short documents with planted near-duplicates, the
 * same for the same options on every machine (seeded PRNG, no download).
 *
 * Each document is three different sentences from templates with many slots.
 * About `duplicateShare` of the documents are an earlier document after one
 * edit (a word substituted, inserted or deleted, a typo, or punctuation and
 * case changes), placed later in the corpus, and about `repostShare` are an
 * exact copy of an earlier one (a crawl holds syndicated copies and
 * boilerplate: a near-duplicate pair at cosine 1, and an input the job need
 * not embed twice). Each original gets at most one duplicate of either kind,
 * so the planted pairs are every pair of the corpus that is one.
 * The generator works document by document from one random stream, so a
 * smaller corpus is a prefix of a larger one with the same seed: the first
 * 400 documents of the 5,000-document corpus are the 400-document corpus.
 */
export function generateCorpus(options: CorpusOptions): Corpus {
  const { docs: count, seed = 7, duplicateShare = 0.08, repostShare = 0 } = options;
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const docs: Doc[] = [];
  const planted: PlantedPair[] = [];
  /** Indices of documents that may still get a duplicate: originals without one. */
  const candidates: number[] = [];

  for (let i = 0; i < count; i++) {
    const id = `doc-${String(i + 1).padStart(5, '0')}`;
    const draw = candidates.length > 0 ? random() : 1;
    if (draw < duplicateShare + repostShare) {
      const at = Math.floor(random() * candidates.length);
      const original = docs[candidates[at]!]!;
      candidates.splice(at, 1);
      const edit = draw < duplicateShare ? pick(EDITS) : 'repost';
      docs.push({ id, text: edit === 'repost' ? original.text : applyEdit(original.text, edit, random) });
      planted.push({ original: original.id, duplicate: id, edit });
      continue;
    }
    const chosen: string[] = [];
    while (chosen.length < 3) {
      const template = pick(TEMPLATES);
      if (!chosen.includes(template)) chosen.push(template);
    }
    const text = chosen
      .map((template) => template.replace(/\{([A-Z]+)\}/g, (_, slot: Slot) => (slot === 'NUMBER' ? String(2 + Math.floor(random() * 97)) : pick(WORDS[slot]))))
      .join(' ');
    docs.push({ id, text: fixArticles(text) });
    candidates.push(docs.length - 1);
  }
  return { docs, planted };
}

const EDITS: readonly Exclude<Edit, 'repost'>[] = ['substitute', 'insert', 'delete', 'typo', 'punctuation'];

/** The text after one edit of the given kind; the edit always changes the text. */
function applyEdit(text: string, edit: Exclude<Edit, 'repost'>, random: () => number): string {
  const words = text.split(' ');
  const at = (n: number) => Math.floor(random() * n);
  switch (edit) {
    case 'substitute': {
      // Swap an adjective or a noun for another of its kind: the sense stays, one word's n-grams change.
      const slots = words.flatMap((w, i) => (ADJECTIVES.includes(bare(w)) || NOUNS.includes(bare(w)) ? [i] : []));
      const i = slots[at(slots.length)] ?? 0;
      const word = bare(words[i]!);
      const pool = (ADJECTIVES.includes(word) ? ADJECTIVES : NOUNS).filter((w) => w !== word);
      words[i] = words[i]!.replace(word, pool[at(pool.length)]!);
      return fixArticles(words.join(' '));
    }
    case 'insert': {
      const slots = words.flatMap((w, i) => (ADJECTIVES.includes(bare(w)) || VERBS.includes(bare(w)) ? [i] : []));
      const i = slots[at(slots.length)] ?? 1;
      const pool = ADJECTIVES.includes(bare(words[i]!)) ? DEGREES : MANNERS;
      words.splice(i, 0, pool[at(pool.length)]!);
      return fixArticles(words.join(' '));
    }
    case 'delete': {
      // Drop one word that is not the last of a sentence, so the punctuation stays.
      const slots = words.flatMap((w, i) => (/[.?!,]$/.test(w) ? [] : [i]));
      words.splice(slots[at(slots.length)]!, 1);
      return fixArticles(words.join(' '));
    }
    case 'typo': {
      // Swap two neighbouring letters inside a word of four letters or more (every template has one).
      const slots = words.flatMap((w, i) => (/^[A-Za-z]{4,}$/.test(bare(w)) ? [i] : []));
      const i = slots[at(slots.length)] ?? 0;
      const w = words[i]!;
      const j = 1 + at(bare(w).length - 3);
      words[i] = w.slice(0, j) + w[j + 1]! + w[j]! + w.slice(j + 2);
      return words.join(' ');
    }
    case 'punctuation':
      // Same words, other punctuation and case: the tokenizer sees the same text.
      return text.replace(/\. /g, '; ').replace(/,/g, ' -').replace(/[.?]$/, '!').toUpperCase();
  }
}

/** `a` before a consonant, `an` before a vowel. */
function fixArticles(text: string): string {
  return text.replace(/\b([Aa])n? (?=(\w))/g, (_, a: string, next: string) => (/[aeiou]/i.test(next) ? `${a}n ` : `${a} `));
}

/** A word without the punctuation that follows it. */
function bare(word: string): string {
  return word.replace(/[.,?!]+$/, '');
}
