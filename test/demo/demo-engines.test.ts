import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type DemoEngine, demoEngine } from '../../src/demo/demo-engine.js';
import { cdnowDemo, shopDemo } from '../../src/demo/run-demo.js';
import { ENGINES } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';

/**
 * `npm start -- --engine clickhouse` prints the same figures as the DuckDB demo for the same seed (and `--cdnow` for
 * the bundled log). The demo's shop runs
 * on each engine (every section but real time, which runs on the real clock and prints latencies:
 * realtime-section.test.ts runs it on both engines) and what each prints must be equal line for line, once the
 * figures that measure the run rather than the data are masked: durations, rates, the loopback URL, where the database
 * lives, and how many group commits and loads the collector's concurrent requests happened to make.
 *
 * 100 people over 60 days: small (chdb spends up to a second planning each large statement), and long enough for
 * every section to print, the churn model's included (it trains on snapshots at least 28 days into the data).
 */
const SHOP = { people: 100, days: 60, seed: 7 };

/** What the demo printed on one engine, with the figures that measure the run masked. */
async function printed(
  engineName: string,
  run: (engine: DemoEngine, dir: string) => Promise<void>,
): Promise<string[]> {
  const dir = tempDir(`segflow-demo-${engineName}-`);
  const engine = demoEngine(engineName, dir);
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  // The demo writes text; the test runner's own messages (bytes) go through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' ? lines.push(chunk) > 0 : write(chunk, ...rest)) as typeof process.stdout.write;
  try {
    await run(engine, dir);
  } finally {
    process.stdout.write = write;
  }
  return lines
    .join('')
    .split('\n')
    .map((line) =>
      line
        .replaceAll(engine.location('demo'), '<database>')
        .replace(/http:\/\/127\.0\.0\.1:\d+/g, '<url>')
        .replace(/\d[\d,]*(?:\.\d+)? s\b/g, '<duration>')
        .replace(/[\d,]+ events\/s/g, '<rate>')
        .replace(/\d+ group commits?/g, '<commits>')
        .replace(/in \d+ transactions?/g, 'in <loads>'),
    );
}

const both = ENGINES.length === 2;

test('the demo prints the same figures on DuckDB and on ClickHouse (chdb) for the same seed', {
  skip: !both && 'compares two engines: SEGFLOW_TEST_ENGINES names one',
}, async () => {
  const shop = (engine: DemoEngine, dir: string) => shopDemo({ dir, engine, ...SHOP, realtime: false });
  const duckdb = await printed('duckdb', shop);
  const clickhouse = await printed('clickhouse', shop);
  // Every section printed (an empty or failed section on both would compare equal).
  const report = duckdb.join('\n');
  for (const heading of [
    '1. Instrument',
    'Live events through the collector',
    'admin API: GET /api/v1/persons/',
    'Who is who',
    'Hidden archetypes',
    '2. Model',
    'Predictive (Model): BG/NBD',
    'churn in the next 14 days',
    'clusters of customers',
    '3. Segment',
    '4. Activate & Personalize',
    'after ',
    '5. Measure',
    'webhooks delivered',
    'revenue_per_person',
    'In-app play',
  ]) {
    assert.ok(report.includes(heading), `the demo printed "${heading}"`);
  }
  assert.deepEqual(clickhouse, duckdb);
});

test('the CDNOW demo prints the same figures on DuckDB and on ClickHouse (chdb)', {
  skip: !both && 'compares two engines: SEGFLOW_TEST_ENGINES names one',
}, async () => {
  const duckdb = await printed('duckdb', cdnowDemo);
  const clickhouse = await printed('clickhouse', cdnowDemo);
  const report = duckdb.join('\n');
  for (const heading of [
    'purchases imported',
    'bought again',
    '2. Model',
    'RFM groups',
    'BG/NBD on all',
    'holdout to',
  ]) {
    assert.ok(report.includes(heading), `the demo printed "${heading}"`);
  }
  assert.deepEqual(clickhouse, duckdb);
});

test('--engine clickhouse without chdb installed says how to get it, without a stack trace', () => {
  // chdb is optional: a resolve hook makes it missing, as on an install without it.
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === 'chdb') throw Object.assign(new Error("Cannot find package 'chdb'"), { code: 'ERR_MODULE_NOT_FOUND' });
    return next(specifier, context);
  }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const cwd = tempDir('segflow-demo-no-chdb-');
  const main = new URL('../../src/demo/main.ts', import.meta.url).pathname;
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      main,
      '--engine',
      'clickhouse',
    ],
    { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /the embedded ClickHouse engine \(chdb\) is not installed/);
  assert.match(run.stderr, /npm install chdb/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(run.stdout, '', 'nothing ran');
  assert.equal(existsSync(join(cwd, '.demo')), false, 'nothing was written');
});
