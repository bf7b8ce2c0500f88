import {
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type ValueState,
} from '@tributary/core';
import type { EmbeddedDoc } from './embedders.js';
import { bucketKey, type LshOptions, type RandomHyperplaneLsh } from './lsh.js';
import { PackedSignatures, distanceCutoff } from './packedSignatures.js';

/**
 * How far a float32 dot product of unit vectors strays from the exact cosine: a vector with itself gives
 * 0.99999979 or 1.00000015, so a threshold of 1 would miss identical texts without it.
 */
const COSINE_ROUNDING = 1e-6;

/** Two documents whose embeddings have a cosine similarity of at least the threshold; `a` < `b`. */
export interface DuplicatePair {
  readonly a: string;
  readonly b: string;
  readonly cosine: number;
  readonly textA: string;
  readonly textB: string;
}

/** A document in the bucket of one band (`bucketKey`), with its whole packed signature. */
export interface BucketEntry {
  readonly bucket: number;
  readonly band: number;
  readonly signature: Int32Array;
  readonly doc: EmbeddedDoc;
}

/** The `flatMap` function that sends a document to its bucket in every band. */
export function bucketEntries(lsh: RandomHyperplaneLsh): (doc: EmbeddedDoc) => BucketEntry[] {
  const packing = new PackedSignatures(lsh.options);
  const { bitsPerBand } = lsh.options;
  return (doc) => {
    const codes = lsh.signature(doc.vector);
    const signature = packing.pack(codes);
    return Array.from(codes, (code, band) => ({ bucket: bucketKey(band, code, bitsPerBand), band, signature, doc }));
  };
}

/** A bucket's members, and their packed signatures in the same order (the array grows by doubling). */
interface BucketMembers {
  readonly docs: EmbeddedDoc[];
  signatures: Int32Array;
}

const MEMBERS = new ValueStateDescriptor<BucketMembers>('bucket members');

export interface BucketMatcherOptions {
  /** Cosine similarity at or above which two documents are near-duplicates. */
  readonly threshold: number;
  /** The LSH the entries were hashed with. */
  readonly lsh: LshOptions;
}

/**
 * Keyed by bucket: compares each new document with the documents already in
 * the bucket, emits the pairs at or above the threshold, then joins the bucket.
 *
 * A pair is compared in the first band whose bucket it shares only, so each
 * pair goes out once. Before reading a member's vector, the two signatures
 * must be close ({@link distanceCutoff}): that skips most unrelated members
 * of a crowded bucket, whose number grows with the corpus, and loses a pair
 * at the threshold with probability 1e-4 (the job's LSH misses 3.3% there).
 */
export class BucketMatcher implements KeyedProcessFunction<number, BucketEntry, DuplicatePair> {
  private members: ValueState<BucketMembers | undefined> | undefined;
  private readonly packing: PackedSignatures;
  private readonly cutoff: number;

  constructor(private readonly options: BucketMatcherOptions) {
    this.packing = new PackedSignatures(options.lsh);
    this.cutoff = distanceCutoff(options.threshold, options.lsh);
  }

  open(ctx: RuntimeContext): void {
    this.members = ctx.getState(MEMBERS);
  }

  processElement({ doc, band, signature }: BucketEntry, _ctx: KeyedProcessContext<number>, out: Collector<DuplicatePair>): void {
    const state = this.members as ValueState<BucketMembers | undefined>;
    const { packing, cutoff } = this;
    const { words } = packing;
    const members = state.value() ?? { docs: [], signatures: new Int32Array(4 * words) };
    const { docs, signatures } = members;
    packing.forEachWithin(signature, signatures, docs.length, cutoff, (i) => {
      if (packing.shareBandBefore(signature, 0, signatures, i * words, band)) return;
      const other = docs[i]!;
      const cosine = dot(doc.vector, other.vector);
      if (cosine >= this.options.threshold - COSINE_ROUNDING) out.collect(pairOf(doc, other, cosine));
    });
    const at = docs.length * words;
    if (at + words > signatures.length) {
      members.signatures = new Int32Array(signatures.length * 2);
      members.signatures.set(signatures);
    }
    members.signatures.set(signature, at);
    docs.push(doc);
    state.update(members);
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function pairOf(x: EmbeddedDoc, y: EmbeddedDoc, cosine: number): DuplicatePair {
  const [first, second] = x.id < y.id ? [x, y] : [y, x];
  return { a: first.id, b: second.id, cosine: Math.round(cosine * 10_000) / 10_000, textA: first.text, textB: second.text };
}
