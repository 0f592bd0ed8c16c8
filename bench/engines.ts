import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { openWarehouse } from '../src/engine/open.js';
import type { Warehouse } from '../src/engine/warehouse.js';
import { writeGeneratedFiles } from '../src/generate/index.js';
import { loadEventKinds } from '../src/instrument/event-kinds.js';
import { importFile } from '../src/instrument/import/import-file.js';
import { eventsRelation } from '../src/instrument/persons-on-events.js';
import { featureSource } from '../src/model/feature-catalog.js';
import { modelConfig } from '../src/model/model-config.js';
import { refreshFeatures } from '../src/model/refresh-features.js';
import { compileSegments } from '../src/segment/compile.js';
import { loadDefinitions } from '../src/segment/load-definitions.js';
import { refreshSegments } from '../src/segment/memberships.js';
import { aggregateScanSeconds, argValue, plainNdjsonReader, querySeconds } from './dataset.js';
import { type Benchmark, type BenchRow, seconds, timeAgainst } from './harness.js';

/**
 * The import, refresh and segments benchmarks on both engines — DuckDB (a file) and ClickHouse embedded (chdb, a
 * folder) — over the same generated shop, side by side. Each engine is judged against its own limit measured in the
 * same run: its aggregate scan of the events grouped by stored person id (count, sum, max) for the refresh and the
 * segments, its own NDJSON reader into a plain stored table for the import. The ClickHouse rows also say how they
 * compare with DuckDB's.
 *
 * Args: `--people N` (default 1,000,000), `--days D` (default 1: about 13 events per person), `--engines
 * duckdb,clickhouse` (default both). chdb imports 13M events slowly, so `--people 20000 --days 1` is the quick run.
 * The generated file is cached in bench/data/ (the same file the refresh benchmark imports); each engine imports it
 * into a fresh database every run (the import is one of the figures).
 */
export const enginesBenchmark: Benchmark = {
  name: 'engines',
  description:
    'import, feature refresh and segments on DuckDB and ClickHouse (chdb), each against its own limit, same data and run',
  async run(args) {
    const people = argValue(args, '--people', 1_000_000);
    const days = argValue(args, '--days', 1);
    const wanted = args.includes('--engines')
      ? (args[args.indexOf('--engines') + 1] ?? '').split(',')
      : ['duckdb', 'clickhouse'];
    const engines = (['duckdb', 'clickhouse'] as const).filter((e) => wanted.includes(e));
    if (engines.length === 0) throw new Error('--engines takes duckdb, clickhouse or duckdb,clickhouse');
    const file = await shopFile(people, days);
    const results: EngineFigures[] = [];
    for (const engine of engines) {
      process.stderr.write(`${engine}…\n`);
      results.push(await measure(engine, file, days));
    }
    const duck = results.find((r) => r.engine === 'duckdb');
    const rows: BenchRow[] = [];
    for (const r of results) rows.push(...engineRows(r, r.engine === 'clickhouse' ? duck : undefined));
    return {
      name: 'engines',
      description: this.description,
      rows,
      details: { people, days, events: file.events, bytes: statSync(file.path).size, engines: results },
    };
  },
};

/** What one engine measured. Times in seconds. */
interface EngineFigures {
  engine: 'duckdb' | 'clickhouse';
  events: number;
  persons: number;
  import: { seconds: number; readerSeconds: number; inserted: number };
  scan: number;
  refresh: { full: number; incremental15: number; recomputed: number; rows: number };
  segments: { count: number; evaluate: number; first: number; incremental15: number; members: number };
}

/** The generated shop as NDJSON, cached between runs under the name bench/dataset.ts gives it. */
async function shopFile(people: number, days: number): Promise<{ path: string; events: number }> {
  const dir = new URL('./data/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}shop-${people}p-${days}d.ndjson`;
  const marker = `${path}.count`;
  if (existsSync(path) && existsSync(marker)) return { path, events: Number(readFileSync(marker, 'utf8')) };
  process.stderr.write(`generating ${people.toLocaleString('en-US')} people over ${days} days…\n`);
  const r = await writeGeneratedFiles({ people, days, seed: 42, profile: 'ecommerce', out: path });
  rmSync(r.truthPath, { force: true });
  writeFileSync(marker, String(r.events));
  return { path, events: r.events };
}

/** A fresh database of the engine, in bench/data/ (a DuckDB file, or chdb's folder). */
async function freshWarehouse(engine: 'duckdb' | 'clickhouse'): Promise<Warehouse> {
  const dir = new URL('./data/', import.meta.url).pathname;
  if (engine === 'duckdb') {
    const path = `${dir}engines.duckdb`;
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
    return openWarehouse({ path });
  }
  const folder = `${dir}engines.clickhouse`;
  rmSync(folder, { recursive: true, force: true });
  return openWarehouse({ clickhouse: { folder, database: 'segflow' } });
}

/**
 * The import's limit: the engine's own NDJSON reader into a plain stored table, nothing checked (`plainNdjsonReader`).
 * The CREATE is each engine's own: a bench may speak the engine's SQL; the library does not.
 */
async function readerSeconds(wh: Warehouse, path: string): Promise<number> {
  const reader = plainNdjsonReader(wh, '?');
  const create =
    wh.dialect.name === 'duckdb'
      ? `CREATE TABLE _bench_plain AS SELECT * FROM ${reader}`
      : `CREATE TABLE _bench_plain ENGINE = MergeTree ORDER BY tuple() AS SELECT * FROM ${reader}`;
  await wh.run('DROP TABLE IF EXISTS _bench_plain');
  const t = performance.now();
  await wh.run(create, [path]);
  if (wh.dialect.name === 'duckdb') await wh.run('CHECKPOINT');
  const s = seconds(t);
  await wh.run('DROP TABLE IF EXISTS _bench_plain');
  return s;
}

async function measure(
  engine: 'duckdb' | 'clickhouse',
  file: { path: string; events: number },
  days: number,
): Promise<EngineFigures> {
  const wh = await freshWarehouse(engine);
  try {
    const reader = await readerSeconds(wh, file.path);
    const t = performance.now();
    const summary = await importFile(wh, { path: file.path, rejectsPath: null });
    if (engine === 'duckdb') await wh.run('CHECKPOINT');
    const importSeconds = seconds(t);
    const [counts] = await wh.query<{ events: number; persons: number }>(
      'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(DISTINCT person_id) FROM identities) AS persons',
    );
    process.stderr.write(`  imported in ${importSeconds.toFixed(1)} s (reader ${reader.toFixed(1)} s)\n`);

    const asOf = new Date(Date.UTC(2026, 0, 1) + days * 86_400_000);
    const since = new Date(asOf.getTime() - 15 * 60_000);
    const scan = await aggregateScanSeconds(wh);

    // Features: a full refresh (best of 2), then one 15 minutes before the end and an incremental one at the end,
    // as a timed cycle (`serve --cycle-every`) runs them.
    let full = Number.POSITIVE_INFINITY;
    let featureRows = 0;
    for (let i = 0; i < 2; i++) {
      const r = await refreshFeatures(wh, modelConfig(), { asOf, full: true });
      full = Math.min(full, r.seconds);
      featureRows = r.persons;
    }
    await wh.run('DELETE FROM feature_refreshes WHERE as_of > ?', [since]);
    await refreshFeatures(wh, modelConfig(), { asOf: since, full: true });
    const incremental = await refreshFeatures(wh, modelConfig(), { asOf });
    if (incremental.since?.getTime() !== since.getTime())
      throw new Error(`${engine}: expected a feature refresh since ${since.toISOString()}`);
    process.stderr.write(
      `  features: full ${full.toFixed(2)} s, incremental ${incremental.seconds.toFixed(2)} s\n`,
    );

    // Segments: the examples evaluated in one query (best of 2), a first refresh from empty memberships as of 15
    // minutes before the end (everyone enters), then an incremental refresh at the end.
    const loaded = loadDefinitions(new URL('../examples/segments', import.meta.url).pathname);
    if (loaded.problems.length) throw new Error(JSON.stringify(loaded.problems));
    const features = featureSource(wh.dialect);
    const compiled = compileSegments(
      wh.dialect,
      loaded.definitions.map((d) => d.definition),
      { asOf, features, events: await eventsRelation(wh), kinds: await loadEventKinds(wh) },
    );
    const evaluate = await querySeconds(wh, compiled);
    await wh.run('DELETE FROM feature_refreshes WHERE as_of > ?', [since]);
    await refreshFeatures(wh, modelConfig(), { asOf: since, full: true });
    const first = await refreshSegments(wh, loaded.definitions, { asOf: since, features });
    await refreshFeatures(wh, modelConfig(), { asOf });
    const later = await refreshSegments(wh, loaded.definitions, { asOf, features });
    if (later.mode !== 'incremental') throw new Error(`${engine}: expected an incremental segment refresh`);
    process.stderr.write(
      `  segments: evaluate ${evaluate.toFixed(2)} s, refresh ${first.seconds.toFixed(2)} s\n`,
    );
    return {
      engine,
      events: Number(counts!.events),
      persons: Number(counts!.persons),
      import: { seconds: importSeconds, readerSeconds: reader, inserted: summary.inserted },
      scan,
      refresh: {
        full,
        incremental15: incremental.seconds,
        recomputed: incremental.recomputed,
        rows: featureRows,
      },
      segments: {
        count: loaded.definitions.length,
        evaluate,
        first: first.seconds,
        incremental15: later.seconds,
        members: later.segments.reduce((s, x) => s + x.size, 0),
      },
    };
  } finally {
    await wh.close();
  }
}

/** One engine's rows, each against its own limit; with `duck`, the ClickHouse rows say how they compare with it. */
function engineRows(r: EngineFigures, duck: EngineFigures | undefined): BenchRow[] {
  // How a time compares with this engine's scan (for the rows the scan limits) and with DuckDB's same figure.
  const versus = (mine: number, theirs: number | undefined, againstScan = true) =>
    [
      ...(againstScan ? [`${(mine / r.scan).toFixed(1)}x the scan`] : []),
      ...(theirs === undefined ? [] : [`${(mine / theirs).toFixed(1)}x DuckDB's time`]),
    ]
      .map((part) => `; ${part}`)
      .join('');
  const scan = { seconds: r.scan, label: `${r.engine} aggregate scan` };
  const importRate = r.events / r.import.seconds;
  const readerRate = r.events / r.import.readerSeconds;
  return [
    {
      metric: `${r.engine}: import events/s`,
      value: importRate,
      unit: 'events/s',
      limit: readerRate,
      limitLabel: `${r.engine} reader → table`,
      ratio: importRate / readerRate,
      note: `${r.import.inserted.toLocaleString('en-US')} events, ${r.persons.toLocaleString('en-US')} persons; ${r.import.seconds.toFixed(1)} s vs ${r.import.readerSeconds.toFixed(1)} s${versus(r.import.seconds, duck?.import.seconds, false)}`,
    },
    {
      metric: `${r.engine}: aggregate scan`,
      value: r.scan,
      unit: 's',
      note: `the limit of the rows below: events grouped by stored person id (count, sum, max), materialised; best of 2${versus(r.scan, duck?.scan, false)}`,
    },
    timeAgainst(
      `${r.engine}: feature refresh`,
      r.refresh.full,
      scan,
      `${r.refresh.rows.toLocaleString('en-US')} feature rows, best of 2${versus(r.refresh.full, duck?.refresh.full)}`,
    ),
    timeAgainst(
      `${r.engine}: features, incremental 15 min later`,
      r.refresh.incremental15,
      scan,
      `${r.refresh.recomputed.toLocaleString('en-US')} people recomputed${versus(r.refresh.incremental15, duck?.refresh.incremental15)}`,
    ),
    timeAgainst(
      `${r.engine}: evaluate ${r.segments.count} segments`,
      r.segments.evaluate,
      scan,
      `one compiled query, best of 2${versus(r.segments.evaluate, duck?.segments.evaluate)}`,
    ),
    timeAgainst(
      `${r.engine}: segment refresh (all enter)`,
      r.segments.first,
      scan,
      `evaluation plus membership history and change-log writes${versus(r.segments.first, duck?.segments.first)}`,
    ),
    timeAgainst(
      `${r.engine}: segments, incremental 15 min later`,
      r.segments.incremental15,
      scan,
      `${r.segments.members.toLocaleString('en-US')} memberships after it${versus(r.segments.incremental15, duck?.segments.incremental15)}`,
    ),
  ];
}
