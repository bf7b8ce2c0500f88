import { statSync } from 'node:fs';

/** Tells a model file from the same path rewritten since; undefined for bytes or a file that cannot be read (its worker fails to load it). */
export function modelFileIdentity(model: string | Uint8Array): string | undefined {
  if (typeof model !== 'string') return undefined;
  const stats = statSync(model, { bigint: true, throwIfNoEntry: false });
  return stats === undefined ? undefined : `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}`;
}
