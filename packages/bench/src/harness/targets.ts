import type { Target, TargetResult } from './model.js';

/**
 * Checks the issues' targets against a run's figures. `figure(id)` is the
 * contender's headline number (ns CPU/record, or % of the bound); `stat(id,
 * name)` the median of one of its run stats, for scenarios that keep them.
 */
export function evaluateTargets(
  targets: readonly Target[],
  figure: (id: string) => number,
  stat: (id: string, name: string) => number = () => Number.NaN,
): TargetResult[] {
  return targets.map((t) => {
    const subject = figure(t.subject);
    switch (t.kind) {
      case 'max-ratio':
        return atMost(t.label, 'ratio', subject / figure(t.baseline), t.max);
      case 'min-speedup':
        return atLeast(t.label, 'ratio', figure(t.baseline) / subject, t.min);
      case 'max-value':
        return atMost(t.label, 'figure', subject, t.max);
      case 'min-value':
        return atLeast(t.label, 'figure', subject, t.min);
      case 'max-stat':
        return atMost(t.label, 'stat', stat(t.subject, t.stat), t.max);
    }
  });
}

const atMost = (label: string, measure: TargetResult['measure'], value: number, threshold: number): TargetResult => ({
  label,
  measure,
  value,
  bound: 'at-most',
  threshold,
  met: value <= threshold,
});

const atLeast = (label: string, measure: TargetResult['measure'], value: number, threshold: number): TargetResult => ({
  label,
  measure,
  value,
  bound: 'at-least',
  threshold,
  met: value >= threshold,
});

/** The figure of contender `id`; a target naming a contender the scenario lacks is a bug in the scenario. */
export function figureOf<T extends { readonly id: string }>(rows: readonly T[], id: string, pick: (row: T) => number): number {
  const row = rows.find((r) => r.id === id);
  if (row === undefined) throw new Error(`no contender '${id}' in this scenario`);
  return pick(row);
}
