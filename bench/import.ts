import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { openDuckDB } from '../src/engine/duckdb/duckdb-warehouse.js';
import { openWarehouse } from '../src/engine/open.js';
import { writeGeneratedFiles } from '../src/generate/index.js';
import { importFile } from '../src/instrument/import/import-file.js';
import { plainNdjsonReader } from './dataset.js';
import { type Benchmark, seconds } from './harness.js';

/**
 * Import throughput: `segflow import` of a generated Segment-spec NDJSON file (validation, identity resolution and
 * profile facts included) against the limit — DuckDB's own `read_json` loading the same file into a plain table of
 * the same kind of database file, in the same run, with the columns the import's fast path reads (`plainNdjsonReader`).
 * Target: at least 50% of the limit.
 *
 * Two shapes, since the identity work grows with the people, not the events: a long history of few people (`--events N`,
 * default 10,000,000 events from ~18,500 people over 180 days) and the refresh benchmark's shape, many people with a
 * short history (`--people N`, default 1,000,000 people over 1 day, ~13M events). `--shape history|people` runs one.
 * Generated files are cached in bench/data/ between runs.
 */
function argValue(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

const EVENTS_PER_PERSON_ESTIMATE_DAYS = 180;

async function eventsFile(target: number): Promise<{ path: string; events: number }> {
  const dir = new URL('./data/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  // Size the population from a small sample of the same generator, so the file holds about `target` events.
  const probe = `${dir}probe.ndjson`;
  const sample = await writeGeneratedFiles({
    people: 2000,
    days: EVENTS_PER_PERSON_ESTIMATE_DAYS,
    seed: 7,
    profile: 'ecommerce',
    out: probe,
  });
  rmSync(probe, { force: true });
  rmSync(sample.truthPath, { force: true });
  const people = Math.max(100, Math.round((target / sample.events) * 2000));
  const path = `${dir}import-${people}p-${EVENTS_PER_PERSON_ESTIMATE_DAYS}d.ndjson`;
  const marker = `${path}.count`;
  if (existsSync(path) && existsSync(marker)) {
    return { path, events: Number((await import('node:fs')).readFileSync(marker, 'utf8')) };
  }
  process.stderr.write(
    `generating ~${target.toLocaleString('en-US')} events (${people.toLocaleString('en-US')} people)…\n`,
  );
  const t = performance.now();
  const r = await writeGeneratedFiles({
    people,
    days: EVENTS_PER_PERSON_ESTIMATE_DAYS,
    seed: 42,
    profile: 'ecommerce',
    out: path,
  });
  process.stderr.write(
    `generated ${r.events.toLocaleString('en-US')} events in ${seconds(t).toFixed(1)} s (${Math.round(r.events / seconds(t)).toLocaleString('en-US')} events/s)\n`,
  );
  (await import('node:fs')).writeFileSync(marker, String(r.events));
  return { path, events: r.events };
}

/** The refresh benchmark's shape: `people` people over one day (the same generator, seed and file name). */
async function peopleFile(people: number): Promise<{ path: string; events: number }> {
  const dir = new URL('./data/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}shop-${people}p-1d.ndjson`;
  const marker = `${path}.count`;
  if (existsSync(path) && existsSync(marker)) {
    return { path, events: Number((await import('node:fs')).readFileSync(marker, 'utf8')) };
  }
  process.stderr.write(`generating ${people.toLocaleString('en-US')} people over 1 day…\n`);
  const r = await writeGeneratedFiles({ people, days: 1, seed: 42, profile: 'ecommerce', out: path });
  rmSync(r.truthPath, { force: true });
  (await import('node:fs')).writeFileSync(marker, String(r.events));
  return { path, events: r.events };
}

function freshDb(name: string): string {
  const path = new URL(`./data/${name}.duckdb`, import.meta.url).pathname;
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
  return path;
}

export const importBenchmark: Benchmark = {
  name: 'import',
  description:
    'segflow import of generated NDJSON vs DuckDB read_json into a plain table (same file, same run)',
  async run(args) {
    const shape = args.includes('--shape') ? args[args.indexOf('--shape') + 1] : 'both';
    const rows = [];
    const details: Record<string, unknown> = {};
    if (shape === 'both' || shape === 'history') {
      const file = await eventsFile(argValue(args, '--events', 10_000_000));
      const r = await importAgainstLimit(file, 'import events/s (long history, few people)');
      rows.push(r.row);
      details.history = r.details;
    }
    if (shape === 'both' || shape === 'people') {
      const file = await peopleFile(argValue(args, '--people', 1_000_000));
      const r = await importAgainstLimit(file, 'import events/s (many people, refresh shape)');
      rows.push(r.row);
      details.people = r.details;
    }
    return { name: 'import', description: this.description, rows, details };
  },
};

/** segflow's import of one file against the engine's own reader of the same file, in the same run. */
async function importAgainstLimit(file: { path: string; events: number }, metric: string) {
  const bytes = statSync(file.path).size;

  // The limit: the engine's own reader into a plain table, nothing else.
  const limitDb = freshDb('limit');
  const raw = await openDuckDB({ path: limitDb });
  let t = performance.now();
  await raw.run(`CREATE TABLE plain AS SELECT * FROM ${plainNdjsonReader(raw, '?')}`, [file.path]);
  await raw.run('CHECKPOINT');
  const limitSeconds = seconds(t);
  await raw.close();
  rmSync(limitDb, { force: true });

  const oursDb = freshDb('segflow');
  const wh = await openWarehouse({ path: oursDb });
  t = performance.now();
  const summary = await importFile(wh, { path: file.path, rejectsPath: null });
  await wh.run('CHECKPOINT');
  const oursSeconds = seconds(t);
  const [persons] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM persons');
  await wh.close();
  rmSync(oursDb, { force: true });

  const limitRate = file.events / limitSeconds;
  const oursRate = summary.received / oursSeconds;
  return {
    row: {
      metric,
      value: oursRate,
      unit: 'events/s',
      limit: limitRate,
      limitLabel: 'read_json → table',
      ratio: oursRate / limitRate,
      target: 0.5,
      note: `${summary.inserted.toLocaleString('en-US')} events, ${Number(persons!.n).toLocaleString('en-US')} persons, ${(bytes / 2 ** 20).toFixed(0)} MiB, reader=${summary.reader}; ${oursSeconds.toFixed(1)} s vs ${limitSeconds.toFixed(1)} s`,
    },
    details: { events: file.events, bytes, oursSeconds, limitSeconds, summary },
  };
}
