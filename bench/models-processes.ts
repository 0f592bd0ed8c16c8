import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWarehouse } from '../src/engine/open.js';
import { importFile } from '../src/instrument/import/import-file.js';
import { createRng } from '../src/shared/seeded-random.js';
import { type BenchRow, seconds } from './harness.js';
import { PYTHON, peerEnv, pythonMissing, runPythonPeer } from './python-peer.js';

/**
 * The parts of `npm run bench -- models` a user waits for: whole `segflow models fit` processes on the full CDNOW log
 * against a Python process doing the same with the real `lifetimes`, and k-means on 1M × 3 against scikit-learn.
 */
const ROOT = new URL('../', import.meta.url).pathname;
const DATA = new URL('./data/', import.meta.url).pathname;
const CDNOW = join(ROOT, 'test/fixtures/cdnow/CDNOW_master.txt');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * The package as installed runs it: dist/ (tsc) for the library and `bin/segflow.js` → dist/cli-bundle/ for the CLI,
 * built first when missing or older than src/.
 */
function builtCli(): { path: string; note: string } {
  const bundle = join(ROOT, 'dist/cli-bundle/run.js');
  const library = join(ROOT, 'dist/model/clusters/kmeans-parallel.js');
  const bin = join(ROOT, 'bin/segflow.js');
  const newest = newestMtime(join(ROOT, 'src'));
  if ([bundle, library].every((f) => existsSync(f) && statSync(f).mtimeMs >= newest))
    return { path: bin, note: 'dist/ was current' };
  const t = performance.now();
  for (const step of [
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
    [join(ROOT, 'scripts/bundle-cli.mjs')],
  ]) {
    const r = spawnSync(process.execPath, step, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
  }
  return { path: bin, note: `built dist/ first (${seconds(t).toFixed(0)} s, not timed)` };
}

/** Wall time of a process, and its CPU time (user + system) when /usr/bin/time is here. */
function timeProcess(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): { wall: number; cpu: number | null; stdout: string } {
  const timed = existsSync('/usr/bin/time');
  const t = performance.now();
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', '__cpu %U %S', cmd, ...args], {
        encoding: 'utf8',
        env,
        maxBuffer: 1 << 26,
      })
    : spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const wall = seconds(t);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const m = /__cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : null, stdout: r.stdout };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

type Timed = ReturnType<typeof timeProcess>;

/** The median run by wall time, with its CPU time. */
function medianRun(runs: readonly Timed[]): { wall: number; cpu: number | null } {
  const wall = median(runs.map((r) => r.wall));
  const cpus = runs.map((r) => r.cpu).filter((c): c is number => c !== null);
  return { wall, cpu: cpus.length === runs.length ? median(cpus) : null };
}

/**
 * Whole processes, each timed `repeats` times (medians): `segflow models fit bgnbd` then `gammagamma` (two processes,
 * as a user fitting one after the other), `segflow models fit bgnbd gammagamma` (one process, one read of the
 * summaries), the Python process with the real `lifetimes`, and the floor under any segflow process. Rounds
 * interleave them, so load from other work on the machine falls on all alike.
 */
export async function processRows(
  repeats = 5,
): Promise<{ rows: BenchRow[]; details: Record<string, unknown> }> {
  mkdirSync(DATA, { recursive: true });
  const db = join(DATA, 'cdnow-master.duckdb');
  if (!existsSync(db)) {
    const wh = await openWarehouse({ path: db });
    await importFile(wh, { path: CDNOW, preset: 'cdnow', rejectsPath: null });
    await wh.close();
  }
  const cli = builtCli();
  const fit = (models: string[]) =>
    timeProcess(process.execPath, [
      cli.path,
      '--db',
      db,
      'models',
      'fit',
      ...models,
      '--to',
      '1997-09-30',
      '--json',
    ]);
  // The floor under any segflow process here: start Node, load DuckDB (the CLI's bundled API and the native library),
  // open the same database and close it, doing nothing else. Closed as a fit closes it (no checkpoint: the open
  // replays the same write-ahead log as the fits' opens, and the floor leaves it as it found it).
  const api = join(ROOT, 'dist/cli-bundle/duckdb-node-api.cjs');
  const openClose = `require(${JSON.stringify(api)}).DuckDBInstance.create(${JSON.stringify(db)}).then(async (i) => {
    const c = await i.connect(); await c.run('SELECT 1'); await c.run('PRAGMA disable_checkpoint_on_shutdown');
    c.closeSync(); i.closeSync(); });`;
  const missing = pythonMissing(['lifetimes', 'pandas']);
  // One untimed run first: a database imported by an older build is migrated here, not in a timed process, and the
  // files are in the page cache for both sides (the Python peer's CSV is too, after the earlier rows).
  fit(['bgnbd']);
  const runs = {
    bgnbd: [] as Timed[],
    gammagamma: [] as Timed[],
    pair: [] as number[],
    both: [] as Timed[],
    python: [] as Timed[],
    floor: [] as Timed[],
    bare: [] as Timed[],
  };
  for (let round = 0; round < repeats; round++) {
    const bg = fit(['bgnbd']);
    const gg = fit(['gammagamma']);
    runs.bgnbd.push(bg);
    runs.gammagamma.push(gg);
    runs.pair.push(bg.wall + gg.wall);
    runs.both.push(fit(['bgnbd', 'gammagamma']));
    if (!missing)
      runs.python.push(
        timeProcess(
          PYTHON,
          [new URL('./peers/lifetimes_process.py', import.meta.url).pathname, CDNOW],
          peerEnv(),
        ),
      );
    runs.floor.push(timeProcess(process.execPath, ['-e', openClose]));
    runs.bare.push(timeProcess(process.execPath, ['-e', '']));
  }
  const ours = {
    bgnbd: medianRun(runs.bgnbd),
    gammagamma: medianRun(runs.gammagamma),
    both: medianRun(runs.both),
  };
  const pair = median(runs.pair);
  const peer = missing ? null : medianRun(runs.python);
  const floor = medianRun(runs.floor);
  const bare = medianRun(runs.bare);
  const cpu = (x: { cpu: number | null }) => (x.cpu === null ? '' : `, ${x.cpu.toFixed(2)} s CPU`);
  const peerLabel = 'one Python process: pandas read, lifetimes summaries, BetaGeoFitter + GammaGammaFitter';
  const against = (value: number) =>
    peer ? { limit: peer.wall, limitLabel: peerLabel, ratio: peer.wall / value, target: 3 } : {};
  const peerNote = peer
    ? `Python${cpu(peer)}: ${runs.python.at(-1)!.stdout.trim()}`
    : `Python peer skipped: ${missing}`;
  const how = `medians of ${repeats} interleaved rounds, on an imported database, after one untimed run (${cli.note})`;
  const rows: BenchRow[] = [
    {
      metric: 'processes: segflow models fit bgnbd, then gammagamma (two processes), CDNOW full',
      value: pair,
      unit: 's',
      ...against(pair),
      note: `bgnbd ${ours.bgnbd.wall.toFixed(2)} s${cpu(ours.bgnbd)}, gammagamma ${ours.gammagamma.wall.toFixed(2)} s${cpu(ours.gammagamma)}; ${how}; ${peerNote}`,
    },
    {
      metric: 'processes: segflow models fit bgnbd gammagamma (one process), CDNOW full',
      value: ours.both.wall,
      unit: 's',
      ...against(ours.both.wall),
      note: `one read of the summaries, both fits stored together${cpu(ours.both)}; ${how}`,
    },
    {
      metric: 'processes: floor, twice (Node start + DuckDB loaded, the database opened and closed)',
      value: 2 * floor.wall,
      unit: 's',
      ...(peer
        ? {
            limit: peer.wall,
            limitLabel: 'the same Python process',
            ratio: peer.wall / (2 * floor.wall),
          }
        : {}),
      note: `the best ratio two processes could reach here${peer ? `; one process at best ${(peer.wall / floor.wall).toFixed(1)}×` : ''}; each ${floor.wall.toFixed(2)} s${cpu(floor)}; \`node -e ''\` alone ${bare.wall.toFixed(2)} s${cpu(bare)}`,
    },
  ];
  return { rows, details: { repeats, runs, ours, pair, peer, cli: cli.note, floor, bare } };
}

/**
 * RFM-like people: log-normal order counts and spend (correlated), recency uniform over a year, standardised;
 * row-major. No planted groups, so Lloyd's loop has work to do (as on real customer tables).
 */
function kmeansPoints(n: number): Float64Array {
  const rng = createRng(8, 0);
  const data = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    data[i * 3] = Math.log1p(Math.exp(0.8 * z + 0.5 * rng.normal()));
    data[i * 3 + 1] = Math.log1p(Math.exp(3 + 0.6 * z + 0.8 * rng.normal()));
    data[i * 3 + 2] = rng.float() * 365;
  }
  for (let j = 0; j < 3; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += data[i * 3 + j]!;
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (data[i * 3 + j]! - mean) ** 2;
    const sd = Math.sqrt(ss / n);
    for (let i = 0; i < n; i++) data[i * 3 + j] = (data[i * 3 + j]! - mean) / sd;
  }
  return data;
}

/**
 * k-means as an installed package runs it: dist/'s JavaScript. From the TypeScript sources each worker thread would
 * first start the TypeScript loader (tsx), a cost users never pay (about 2.5 s on a loaded machine).
 */
export async function kmeansRows(n: number): Promise<{ rows: BenchRow[]; details: Record<string, unknown> }> {
  mkdirSync(DATA, { recursive: true });
  const built = builtCli();
  const { kMeansParallel } = (await import(
    join(ROOT, 'dist/model/clusters/kmeans-parallel.js')
  )) as typeof import('../src/model/clusters/kmeans-parallel.js');
  const data = kmeansPoints(n);
  const file = join(DATA, `kmeans-${n}x3.f64`);
  writeFileSync(file, new Uint8Array(data.buffer));
  const t = performance.now();
  const ours = await kMeansParallel({ points: { data, n, d: 3 }, k: 8, rng: createRng(1, 0), restarts: 4 });
  const oursSeconds = seconds(t);
  const missing = pythonMissing(['sklearn']);
  const peer = missing
    ? `skipped: ${missing}`
    : runPythonPeer<Record<'init1' | 'init4', { seconds: number; inertia: number; iterations: number }>>(
        'sklearn_kmeans.py',
        [file, '3', '8'],
      );
  rmSync(file, { force: true });
  const label = `k-means, ${n.toLocaleString('en-US')} × 3 standardised, k = 8, best of 4 inits`;
  if (typeof peer === 'string') {
    return {
      rows: [
        {
          metric: label,
          value: oursSeconds,
          unit: 's',
          note: `inertia ${ours.inertia.toFixed(1)}; scikit-learn ${peer}`,
        },
      ],
      details: { ours: { inertia: ours.inertia, iterations: ours.iterations, seconds: oursSeconds } },
    };
  }
  const gap = ours.inertia / peer.init4.inertia - 1;
  return {
    rows: [
      {
        metric: label,
        value: oursSeconds,
        unit: 's',
        limit: peer.init4.seconds,
        limitLabel: 'scikit-learn KMeans(n_clusters=8, n_init=4)',
        ratio: peer.init4.seconds / oursSeconds,
        target: 1,
        note: `one init: scikit-learn ${peer.init1.seconds.toFixed(2)} s (${peer.init1.iterations} iterations); ours: the best restart ${ours.iterations} iterations, dist/ build (${built.note})`,
      },
      {
        metric: `${label}: inertia vs scikit-learn's best of four`,
        value: ours.inertia,
        unit: '',
        limit: peer.init4.inertia,
        limitLabel: 'scikit-learn KMeans best of 4 inits',
        ratio: peer.init4.inertia / ours.inertia,
        target: 1 / 1.01,
        note: `${(gap * 100).toFixed(3)}% ${gap >= 0 ? 'above' : 'below'} scikit-learn's; target: within 1%`,
      },
    ],
    details: { ours: { inertia: ours.inertia, iterations: ours.iterations, seconds: oursSeconds }, peer },
  };
}
