import type { FileSource, FileSourceSpec } from '../ports.js';
import { fileReader } from '../storage.js';
import type { Warehouse } from '../warehouse.js';

/**
 * DuckDB's `stageFile`: the file copied into the scratch table `spec.name` by the engine's own reader, each row
 * numbered by its place in the file.
 *
 * Numbering while reading (`row_number() OVER ()`, the default port) makes the reader run on one thread: on a
 * 2M-event NDJSON file the read took 5.6–6.2 s numbered and 3.5–3.7 s not, on 2 cores. The copy reads on every
 * thread and the table keeps the file's order (DuckDB preserves insertion order), so a row's `rowid` is its place in
 * the file. `test/engine/ports.test.ts` checks the numbering on a file of many row groups, in a transaction. The copy
 * stays a bare read: order survives only order-preserving operators, and a statement that also checked the rows (its
 * `IN` lists of literals planned as hash joins) put a 2M-line file's second part first (tried 2026-12-07).
 *
 * @example
 * const file = await copyFileIn(tx, { name: '_sf_file', path: 'events.ndjson', format: { kind: 'ndjson', columns } });
 * await tx.query(`SELECT row_no, "type" FROM ${file.relation}`, file.params);
 */
export async function copyFileIn(wh: Warehouse, spec: FileSourceSpec): Promise<FileSource> {
  const onProgress = spec.onProgress;
  const timer = onProgress
    ? setInterval(() => {
        const fraction = wh.progress();
        if (fraction !== undefined) onProgress(fraction);
      }, 250)
    : undefined;
  try {
    await wh.storage.createScratch({
      name: spec.name,
      select: `SELECT * FROM ${fileReader(wh.dialect, spec.format, '$1')}`,
      params: [spec.path],
    });
  } finally {
    clearInterval(timer);
  }
  const first = Math.trunc(spec.firstRowNo ?? 1);
  // Rows copied inside a transaction get rowids from a high base until it commits: numbers count from the first.
  // The base is read once and written into the relation (a subquery there cost 5 s of a 2M-row check inside a
  // transaction); it can exceed 2^53, so it stays text.
  const table = `temp.${wh.dialect.quoteIdent(spec.name)}`;
  const [row] = await wh.query<{ base: bigint | number | null }>(`SELECT min(rowid) AS base FROM ${table}`);
  const base = String(row?.base ?? 0);
  if (!/^\d+$/.test(base)) throw new Error(`unexpected first rowid ${base} of ${spec.name}`);
  return {
    relation: `(SELECT rowid - ${base} + ${first} AS row_no, * FROM ${table})`,
    params: [],
  };
}
