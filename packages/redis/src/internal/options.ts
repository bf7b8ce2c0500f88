/** Checks that option `name` of `where` is an integer >= `min` and returns it. */
export function checkInteger(where: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${where}: option '${name}' must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}
