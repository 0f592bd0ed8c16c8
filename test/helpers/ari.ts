/**
 * The adjusted Rand index (Hubert & Arabie 1985) of two labelings of the same items: 1 for identical partitions (up
 * to renaming), about 0 for independent ones. Written for the tests, independently of the code under test.
 */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error('labelings of different lengths');
  const n = a.length;
  const table = new Map<string, number>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]}|${b[i]}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    rows.set(a[i]!, (rows.get(a[i]!) ?? 0) + 1);
    cols.set(b[i]!, (cols.get(b[i]!) ?? 0) + 1);
  }
  const pairs = (m: number) => (m * (m - 1)) / 2;
  let index = 0;
  for (const v of table.values()) index += pairs(v);
  let sumRows = 0;
  for (const v of rows.values()) sumRows += pairs(v);
  let sumCols = 0;
  for (const v of cols.values()) sumCols += pairs(v);
  const expected = (sumRows * sumCols) / pairs(n);
  const max = (sumRows + sumCols) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}
