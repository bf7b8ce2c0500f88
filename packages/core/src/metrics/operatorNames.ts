/**
 * The `operator` variable each operator's metrics carry, in the order given
 * (a job graph's, as `JobGraphView.operators` lists it): its name, with `#2`,
 * `#3` ... for later operators of the same name and uid, skipping a number
 * another operator's own name already has (one named `step#2`). Exporters
 * and the job view map metrics back to operators with it.
 */
export function metricOperatorNames(operators: readonly { readonly name: string; readonly uid?: string | undefined }[]): string[] {
  // The `operator` variable is told apart together with the `uid` variable beside it.
  return distinctNames(operators.map(({ name, uid }) => ({ base: name, among: uid ?? '' })));
}

/** Each base as it is the first time it comes (within its `among`), then `base#2`, `base#3` ... skipping names already taken. */
export function distinctNames(items: readonly { readonly base: string; readonly among: string }[]): string[] {
  const key = (among: string, name: string) => JSON.stringify([among, name]);
  const taken = new Set(items.map(({ base, among }) => key(among, base)));
  const first = new Set<string>();
  return items.map(({ base, among }) => {
    if (!first.has(key(among, base))) {
      first.add(key(among, base));
      return base;
    }
    let n = 2;
    while (taken.has(key(among, `${base}#${n}`))) n++;
    taken.add(key(among, `${base}#${n}`));
    return `${base}#${n}`;
  });
}
