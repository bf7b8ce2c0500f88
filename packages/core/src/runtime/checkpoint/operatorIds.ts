import type { StreamNode } from '../JobGraph.js';

/**
 * The id under which an operator's state is stored in checkpoints: its uid
 * when it has one, else a hash of its name and of the ids of its inputs.
 * Derived ids survive a restart of the same job but change when anything
 * upstream changes; give operators a `uid()` to keep their state across
 * changes of the job.
 */
export function operatorIds(nodes: readonly StreamNode[]): Map<StreamNode, string> {
  const ids = new Map<StreamNode, string>();
  const taken = new Set<string>();
  for (const node of nodes) {
    const t = node.transformation;
    let id = t.uid;
    if (id === undefined) {
      const inputs = node.inEdges.map((e) => `${ids.get(e.from) ?? '?'}:${e.tagId ?? ''}`).join(',');
      const base = `${t.name}-${fnv1a(`${t.kind}|${t.name}|${inputs}`)}`;
      id = base;
      for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    }
    taken.add(id);
    ids.set(node, id);
  }
  return ids;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
