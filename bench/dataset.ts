import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { openWarehouse } from '../src/engine/open.js';
import type { SqlValue, Warehouse } from '../src/engine/warehouse.js';
import { writeGeneratedFiles } from '../src/generate/index.js';
import { importFile } from '../src/instrument/import/import-file.js';
import { STAGE_FIELDS } from '../src/instrument/ingest.js';
import { seconds } from './harness.js';

/**
 * A generated shop imported into a database file, cached in bench/data/ between runs (generating and importing 10M
 * events takes a minute or two). Returns the open database and its size.
 */
export async function benchDatabase(options: { people: number; days: number }): Promise<{
  wh: Warehouse;
  events: number;
  persons: number;
  path: string;
}> {
  const dir = new URL('./data/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}shop-${options.people}p-${options.days}d.duckdb`;
  const ready = `${path}.ready`;
  if (!existsSync(path) || !existsSync(ready)) {
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
    const ndjson = `${dir}shop-${options.people}p-${options.days}d.ndjson`;
    process.stderr.write(
      `generating ${options.people.toLocaleString('en-US')} people over ${options.days} days…\n`,
    );
    let t = performance.now();
    const gen = await writeGeneratedFiles({
      people: options.people,
      days: options.days,
      seed: 42,
      profile: 'ecommerce',
      out: ndjson,
    });
    process.stderr.write(
      `  ${gen.events.toLocaleString('en-US')} events in ${seconds(t).toFixed(1)} s; importing…\n`,
    );
    const wh = await openWarehouse({ path });
    t = performance.now();
    await importFile(wh, { path: ndjson, rejectsPath: null });
    await wh.run('CHECKPOINT');
    process.stderr.write(`  imported in ${seconds(t).toFixed(1)} s\n`);
    await wh.close();
    // The file stays for the import benchmark's many-people shape (it reads the same name).
    (await import('node:fs')).writeFileSync(`${ndjson}.count`, String(gen.events));
    rmSync(gen.truthPath, { force: true });
    (await import('node:fs')).writeFileSync(ready, new Date().toISOString());
  }
  const wh = await openWarehouse({ path });
  const [counts] = await wh.query<{ events: number; persons: number }>(
    'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(DISTINCT person_id) FROM identities) AS persons',
  );
  return { wh, events: Number(counts!.events), persons: Number(counts!.persons), path };
}

/**
 * The yardstick: one aggregate scan of the events grouped by their stored person id (count, sum, max; no identity
 * join, no override), materialised; best of `runs`.
 */
export async function aggregateScanSeconds(wh: Warehouse, runs = 2): Promise<number> {
  return querySeconds(
    wh,
    {
      sql: 'SELECT person_id, count(*) AS n, sum(revenue) AS revenue, max(ts) AS last FROM events GROUP BY person_id',
      params: [],
    },
    runs,
  );
}

export function argValue(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

/**
 * A part of a larger query (built with its parameters numbered `$1…$n`) made runnable alone: the placeholders it uses
 * are renumbered in order and only their values kept, since the engine refuses values a statement does not use.
 */
export function standalone(sql: string, params: readonly SqlValue[]): { sql: string; params: SqlValue[] } {
  const used = new Map<number, number>();
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    const k = Number(n);
    if (!used.has(k)) used.set(k, used.size + 1);
    return `$${used.get(k)}`;
  });
  return { sql: text, params: [...used.keys()].map((k) => params[k - 1]!) };
}

/**
 * Seconds to materialise a query's result into a scratch relation of the engine (a temporary table: DuckDB's, or a
 * Memory table of the ClickHouse session), best of `runs`. The storage port writes the engine's own statement, so the
 * same yardstick runs on either engine.
 */
export async function querySeconds(
  wh: Warehouse,
  query: { sql: string; params: readonly SqlValue[] },
  runs = 2,
): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    await wh.storage.dropScratch('_bench_part');
    const t = performance.now();
    await wh.storage.createScratch({ name: '_bench_part', select: query.sql, params: query.params });
    best = Math.min(best, seconds(t));
  }
  await wh.storage.dropScratch('_bench_part');
  return best;
}

/**
 * The NDJSON reader an import's limit is measured with: the engine's own reader, with the columns the import's fast
 * path reads (each top-level message field as JSON text). Not a read that infers the columns: from a sample of lines
 * it refuses a generated shop whose events gain a key late in the file, and from every line it reads the file twice.
 */
export function plainNdjsonReader(wh: Warehouse, placeholder: string): string {
  return wh.dialect.readNdjson(
    placeholder,
    Object.fromEntries(STAGE_FIELDS.map((f) => [f, 'json' as const])),
  );
}
