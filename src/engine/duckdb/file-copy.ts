import type { FileScratchSpec, FileSource, FileSourceSpec } from '../ports.js';
import { fileReader } from '../storage.js';
import type { Warehouse } from '../warehouse.js';

/**
 * DuckDB's `stageFile`: the file copied into the scratch table `spec.name` by the engine's own reader, each row
 * numbered by its place in the file.
 *
 * Numbering while reading (`row_number() OVER ()`, the default port) makes the reader run on one thread: on a
 * 2M-event NDJSON file the read took 5.6–6.2 s numbered and 3.5–3.7 s not, on 2 cores. The copy reads on every
 * thread and the table keeps the file's order (DuckDB preserves insertion order), so a row's `rowid` is its place in
 * the file. `test/engine/ports.test.ts` checks the numbering on a file of many row groups, in a transaction.
 *
 * @example
 * const file = await copyFileIn(tx, { name: '_sf_file', path: 'events.ndjson', format: { kind: 'ndjson', columns } });
 * await tx.query(`SELECT row_no, "type" FROM ${file.relation}`, file.params);
 */
export async function copyFileIn(wh: Warehouse, spec: FileSourceSpec): Promise<FileSource> {
  await withProgress(wh, spec.onProgress, () =>
    wh.storage.createScratch({
      name: spec.name,
      select: `SELECT * FROM ${fileReader(wh.dialect, spec.format, '$1')}`,
      params: [spec.path],
    }),
  );
  const first = Math.trunc(spec.firstRowNo ?? 1);
  const table = `temp.${wh.dialect.quoteIdent(spec.name)}`;
  const base = await firstRowid(wh, table);
  return {
    relation: `(SELECT rowid - ${base} + ${first} AS row_no, * FROM ${table})`,
    params: [],
  };
}

/** Run `fn` (one long statement) telling `onProgress` the engine's progress every 250 ms. */
async function withProgress(
  wh: Warehouse,
  onProgress: ((fraction: number) => void) | undefined,
  fn: () => Promise<void>,
): Promise<void> {
  const timer = onProgress
    ? setInterval(() => {
        const fraction = wh.progress();
        if (fraction !== undefined) onProgress(fraction);
      }, 250)
    : undefined;
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * The rowid of a scratch table's first row. Rows created inside a transaction get rowids from a high base until it
 * commits, so numbers count from it. It is read once and written into the SQL (a subquery there cost 5 s of a 2M-row
 * check inside a transaction); it can exceed 2^53, so it stays text.
 */
async function firstRowid(wh: Warehouse, table: string): Promise<string> {
  const [row] = await wh.query<{ base: bigint | number | null }>(`SELECT min(rowid) AS base FROM ${table}`);
  const base = String(row?.base ?? 0);
  if (!/^\d+$/.test(base)) throw new Error(`unexpected first rowid ${base} of ${table}`);
  return base;
}

/**
 * DuckDB's `scratchFromFile`: the statement reads the file straight into the scratch table on every thread (the
 * rows are written once, not copied and then checked), and the rows are numbered afterwards by their place in it:
 * DuckDB keeps insertion order, and the statement is a projection of the file's rows (FileScratchSpec), so a row's
 * `rowid` is its place in the file. On a 2M-event NDJSON file an import's check took 4.5–6.0 s this way against
 * 6.0–6.7 s copied first (2026-12-07, 2 cores).
 *
 * @example
 * await readFileInto(tx, { name: '_sf_file', scratch: '_sf_checked', path, format,
 *   select: (file) => ({ sql: `SELECT row_no, "type" FROM ${file.relation}`, params: file.params }) });
 */
export async function readFileInto(wh: Warehouse, spec: FileScratchSpec): Promise<void> {
  const d = wh.dialect;
  const unnumbered: FileSource = {
    relation: `(SELECT CAST(NULL AS ${d.columnType('bigint')}) AS row_no, * FROM ${fileReader(d, spec.format, '$1')})`,
    params: [spec.path],
  };
  const { sql, params } = spec.select(unnumbered);
  await withProgress(wh, spec.onProgress, () =>
    wh.storage.createScratch({ name: spec.scratch, select: sql, params }),
  );
  const table = `temp.${d.quoteIdent(spec.scratch)}`;
  const base = await firstRowid(wh, table);
  await wh.run(`UPDATE ${table} SET row_no = rowid - ${base} + ${Math.trunc(spec.firstRowNo ?? 1)}`);
}
