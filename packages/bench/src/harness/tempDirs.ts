import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Fresh directories for checkpoint storage under one temporary root: one per
 * run, so every run starts with an empty storage, and all of them removed at
 * the end (`dispose`, from a contender's `teardown`).
 */
export class TempDirs {
  private root: string | undefined;
  private used = 0;

  constructor(private readonly prefix: string) {}

  /** Creates the root (once); call it from `prepare`, outside the measurement. */
  async open(): Promise<void> {
    this.root ??= await mkdtemp(join(tmpdir(), this.prefix));
  }

  /** A path that does not exist yet under the root (FileCheckpointStorage creates it on first store). */
  next(): string {
    if (this.root === undefined) throw new Error('TempDirs.next() before open()');
    return join(this.root, `run-${++this.used}`);
  }

  async dispose(): Promise<void> {
    const root = this.root;
    this.root = undefined;
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  }
}
