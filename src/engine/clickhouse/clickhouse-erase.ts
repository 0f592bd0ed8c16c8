import { SegflowError } from '../../errors.js';
import type { Warehouse } from '../warehouse.js';
import { clickhouseDialect } from './clickhouse-dialect.js';
import { stringLiteral } from './clickhouse-literals.js';

const q = clickhouseDialect.quoteIdent;

/** The name of a table's fresh copy while it is rewritten. */
const ERASE_PREFIX = '_sf_erase_';

/** What the erasure step did to ClickHouse's files. */
export interface ClickHouseErasure {
  /** The tables whose files were rewritten (or whose deleted rows were merged out). */
  tables: string[];
  /** Bytes of the database's parts on disk (active and replaced ones) before and after. */
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * How deleted rows leave ClickHouse's files:
 * - `rewrite` (the embedded engine, which this process holds alone): each table that had deletes or mutations is
 *   copied into a fresh table holding only what reads see, swapped in by name (`EXCHANGE TABLES`, atomic) and the old
 *   one dropped with `SYNC`, which removes its files at once — its parts, the parts its mutations replaced and its
 *   `mutation_N.txt` files (the text of each DELETE, identifiers written in as literals). The counterpart of DuckDB's
 *   file rewrite. It must not run while anything else writes: rows inserted during the copy would be lost.
 * - `merge` (a server, which other processes may be writing to): `ALTER TABLE … APPLY DELETED MASK` rewrites only the
 *   parts holding rows a lightweight DELETE masked (concurrent inserts are safe), then this waits until the server
 *   has removed every part that held them: replaced parts stay on disk for `old_parts_lifetime` and until the
 *   background cleanup runs (`cleanup_delay_period` plus up to `cleanup_delay_period_random_add`). The mutation
 *   texts stay for the table's last `finished_mutations_to_keep` mutations (docs/scaling.md).
 */
export type ErasureMode = 'rewrite' | 'merge';

/** The MergeTree tables whose files may still hold deleted rows: those with mutations (a DELETE is one) or replaced parts. */
async function tablesToErase(wh: Warehouse): Promise<string[]> {
  const rows = await wh.query<{ name: string }>(
    `SELECT name FROM system.tables
      WHERE database = currentDatabase() AND NOT is_temporary AND engine LIKE '%MergeTree'
        AND (name IN (SELECT table FROM system.mutations WHERE database = currentDatabase())
          OR name IN (SELECT table FROM system.parts WHERE database = currentDatabase() AND NOT active))
      ORDER BY name`,
  );
  return rows.map((r) => r.name);
}

async function partBytes(wh: Warehouse): Promise<number> {
  const [row] = await wh.query<{ bytes: number | null }>(
    'SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = currentDatabase()',
  );
  return Number(row?.bytes ?? 0);
}

/**
 * Make rows already deleted leave ClickHouse's files (see ErasureMode). Tables without deletes, mutations or replaced
 * parts are left alone. `timeoutMs` bounds the wait of `merge` for the server's cleanup (default: the server's own
 * `old_parts_lifetime + cleanup_delay_period + cleanup_delay_period_random_add`, plus a minute).
 */
export async function eraseClickHouseDeletes(
  wh: Warehouse,
  mode: ErasureMode,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<ClickHouseErasure> {
  // A run killed between its swap and its drop leaves the old table (deleted rows and all) under the copy's name:
  // its requests are still pending, and this run removes it first.
  const leftovers = await wh.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = currentDatabase() AND NOT is_temporary AND startsWith(name, '${ERASE_PREFIX}')`,
  );
  for (const { name } of leftovers) await wh.run(`DROP TABLE IF EXISTS ${q(name)} SYNC`);
  const tables = await tablesToErase(wh);
  const bytesBefore = await partBytes(wh);
  if (mode === 'rewrite') {
    for (const table of tables) await rewriteTable(wh, table);
  } else {
    await mergeOutDeleted(wh, tables, options);
  }
  return { tables, bytesBefore, bytesAfter: await partBytes(wh) };
}

/**
 * A table copied into a fresh one with the rows reads see (the session reads with FINAL: for a ReplacingMergeTree the
 * newest row of each key, which a copy of every stored version could not keep, since the newest is the one inserted
 * last and a copy reads parts in no fixed order), swapped in by name and the old one dropped with its files.
 */
async function rewriteTable(wh: Warehouse, table: string): Promise<void> {
  const fresh = q(`${ERASE_PREFIX}${table}`);
  await wh.run(`DROP TABLE IF EXISTS ${fresh} SYNC`);
  await wh.run(`CREATE TABLE ${fresh} AS ${q(table)}`);
  try {
    await wh.run(`INSERT INTO ${fresh} SELECT * FROM ${q(table)}`);
    await wh.run(`EXCHANGE TABLES ${fresh} AND ${q(table)}`);
  } finally {
    // After the exchange this is the old table; before it (a failure) the unfinished copy. Either way it goes now.
    await wh.run(`DROP TABLE IF EXISTS ${fresh} SYNC`);
  }
}

/** The server's defaults for how long replaced parts stay on disk, in ms. */
async function cleanupBoundMs(wh: Warehouse): Promise<number> {
  const rows = await wh.query<{ name: string; value: string }>(
    `SELECT name, value FROM system.merge_tree_settings
      WHERE name IN ('old_parts_lifetime', 'cleanup_delay_period', 'cleanup_delay_period_random_add')`,
  );
  const seconds = rows.reduce((sum, r) => sum + (Number(r.value) || 0), 0);
  return (seconds + 60) * 1000;
}

async function mergeOutDeleted(
  wh: Warehouse,
  tables: readonly string[],
  options: { timeoutMs?: number; pollMs?: number },
): Promise<void> {
  if (tables.length === 0) return;
  // The parts that may hold deleted rows: every part of these tables now, active or already replaced.
  const list = tables.map(stringLiteral).join(', ');
  const parts = await wh.query<{ table: string; name: string }>(
    `SELECT table, name FROM system.parts WHERE database = currentDatabase() AND table IN (${list})`,
  );
  for (const table of tables) await wh.run(`ALTER TABLE ${q(table)} APPLY DELETED MASK`);
  // A table whose parts had no deleted rows keeps them: those parts are not waited for.
  const stillActive = new Set(
    (
      await wh.query<{ table: string; name: string }>(
        `SELECT table, name FROM system.parts WHERE database = currentDatabase() AND active AND table IN (${list})`,
      )
    ).map((p) => `${p.table}\u0000${p.name}`),
  );
  const waiting = parts.filter((p) => !stillActive.has(`${p.table}\u0000${p.name}`));
  if (waiting.length === 0) return;
  const held = `SELECT count() AS n FROM system.parts WHERE database = currentDatabase()
    AND (table, name) IN (${waiting.map((p) => `(${stringLiteral(p.table)}, ${stringLiteral(p.name)})`).join(', ')})`;
  const timeoutMs = options.timeoutMs ?? (await cleanupBoundMs(wh));
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await wh.query<{ n: number }>(held);
    if (Number(row?.n ?? 0) === 0) return;
    if (Date.now() >= until) {
      throw new SegflowError(
        'STORAGE_FAILED',
        `ClickHouse still keeps ${row?.n} replaced parts of ${tables.join(', ')} on disk after ${Math.round(timeoutMs / 1000)} s`,
        'the server removes them after old_parts_lifetime and its next cleanup: run `segflow privacy erase` again later (the requests stay pending until then)',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
}
