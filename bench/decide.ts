import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { parse, stringify } from 'yaml';
import { runActivation } from '../src/activate/activate-run.js';
import { loadPlaybook } from '../src/activate/playbook.js';
import { openWarehouse } from '../src/engine/open.js';
import { writeGeneratedFiles } from '../src/generate/index.js';
import { importFile } from '../src/instrument/import/import-file.js';
import { featureSource } from '../src/model/feature-catalog.js';
import { modelConfig } from '../src/model/model-config.js';
import { refreshFeatures } from '../src/model/refresh-features.js';
import { loadDefinitions } from '../src/segment/load-definitions.js';
import { refreshSegments } from '../src/segment/memberships.js';
import type { Benchmark } from './harness.js';
import { spawnBenchServer, stopBenchServer } from './spawn-server.js';

/**
 * Decide latency: GET /api/v1/decide/:personId for random people of a generated shop (their segments refreshed, the
 * classic playbook loaded) at a fixed 1,000 requests/s on loopback, beside the same server's /healthz at the same
 * rate, in the same run. Target: p99 ≤ 10 ms. Args: `--people N` (default 20,000), `--seconds N` (default 15),
 * `--rate N` (default 1000).
 *
 * Exposure recording: a second server runs the classic playbook made all in-app (every play without its destination,
 * consent allowed, no caps or quiet hours), so nearly every decision picks a play and, the first time per person, records an exposure — the
 * worst case for recording. It is measured with recording on and off (`?record=false`) on the same server, beside
 * its /healthz, with the exposures it stored counted afterwards.
 */
function argValue(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

const PLAYBOOK = new URL('../examples/playbooks/classic.yaml', import.meta.url).pathname;

async function prepare(people: number): Promise<{ db: string; ids: string[] }> {
  const dir = new URL('./data/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const db = `${dir}decide-${people}p.duckdb`;
  if (!existsSync(db)) {
    const events = `${dir}decide-${people}p.ndjson`;
    await writeGeneratedFiles({ people, days: 60, seed: 21, profile: 'ecommerce', out: events });
    const wh = await openWarehouse({ path: db });
    await importFile(wh, { path: events, rejectsPath: null });
    const [last] = await wh.query<{ t: Date }>('SELECT max(ts) AS t FROM events');
    const asOf = last!.t;
    await refreshFeatures(wh, modelConfig(), { asOf });
    const loaded = loadDefinitions(new URL('../examples/segments', import.meta.url).pathname);
    await refreshSegments(wh, loaded.definitions, { asOf, features: featureSource(wh.dialect) });
    await runActivation(wh, loadPlaybook(PLAYBOOK), { asOf, destinations: new Map() });
    await wh.close();
  }
  // Opened for writing so that a database cached by an older segflow is migrated first.
  const wh = await openWarehouse({ path: db });
  const rows = await wh.query<{ person_id: string }>(
    'SELECT DISTINCT person_id FROM segment_memberships ORDER BY person_id',
  );
  await wh.close();
  return { db, ids: rows.map((r) => r.person_id) };
}

function startServer(db: string, playbook = PLAYBOOK) {
  return spawnBenchServer('./decide-server.ts', [db, playbook]);
}

/** The classic playbook with every play in-app (no destination) and consent allowed: every decision can expose. */
function inAppPlaybook(): string {
  const pb = parse(readFileSync(PLAYBOOK, 'utf8')) as {
    consent?: unknown;
    quiet_hours?: unknown;
    caps?: unknown;
    plays: { destination?: string; trigger?: unknown }[];
  };
  pb.consent = { default: 'allow' };
  // Caps and quiet hours would turn many decisions into "no play"; without them nearly every one exposes.
  delete pb.quiet_hours;
  delete pb.caps;
  for (const play of pb.plays) {
    delete play.destination;
    delete play.trigger;
  }
  const file = new URL('./data/decide-in-app.yaml', import.meta.url).pathname;
  writeFileSync(file, stringify(pb));
  return file;
}

/** Exposures decide() recorded (the bench database is reused: they are cleared before each run). */
async function decideExposures(db: string, clear = false): Promise<number> {
  const wh = await openWarehouse({ path: db });
  try {
    if (clear) {
      await wh.run("DELETE FROM exposures WHERE idempotency_key LIKE 'decide:%'");
      await wh.run("DELETE FROM segflow_meta WHERE key = 'exposure_log_position'");
    }
    const [r] = await wh.query<{ n: number }>(
      "SELECT count(*) AS n FROM exposures WHERE idempotency_key LIKE 'decide:%'",
    );
    return Number(r?.n ?? 0);
  } finally {
    await wh.close();
  }
}

async function load(url: string, key: string, paths: () => string, seconds: number, rate: number) {
  const r = await autocannon({
    url,
    connections: 32,
    overallRate: rate,
    duration: seconds,
    headers: { authorization: `Bearer ${key}` },
    requests: [
      {
        setupRequest: (req) => {
          req.path = paths();
          return req;
        },
      },
    ],
  });
  return {
    ok: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
    p50: r.latency.p50,
    p99: r.latency.p99,
    rps: r.requests.average,
  };
}

export const decideBenchmark: Benchmark = {
  name: 'decide',
  description: 'GET /api/v1/decide/:personId at a fixed rate on loopback, beside /healthz at the same rate',
  async run(args) {
    const people = argValue(args, '--people', 20_000);
    const seconds = argValue(args, '--seconds', 15);
    const rate = argValue(args, '--rate', 1000);
    const { db, ids } = await prepare(people);
    const server = await startServer(db);
    let n = 0;
    const person = () => `/api/v1/decide/${encodeURIComponent(ids[(n++ * 7919) % ids.length]!)}`;
    let decide: Awaited<ReturnType<typeof load>>;
    let health: Awaited<ReturnType<typeof load>>;
    try {
      await load(server.url, server.key, person, 2, rate); // warm-up
      decide = await load(server.url, server.key, person, seconds, rate);
      health = await load(server.url, server.key, () => '/healthz', seconds, rate);
      if (decide.failed > 0) throw new Error(`${decide.failed} decide requests failed: not reporting`);
    } finally {
      await stopBenchServer(server);
    }
    // Recording on vs off, on one server with every play in-app.
    const playbook = inAppPlaybook();
    await decideExposures(db, true);
    const inApp = await startServer(db, playbook);
    let m = 0;
    const personOf = () => encodeURIComponent(ids[(m++ * 7919) % ids.length]!);
    let on: Awaited<ReturnType<typeof load>>;
    let off: Awaited<ReturnType<typeof load>>;
    let inAppHealth: Awaited<ReturnType<typeof load>>;
    try {
      await load(inApp.url, inApp.key, () => `/api/v1/decide/${personOf()}?record=false`, 2, rate); // warm-up
      m = 0;
      off = await load(
        inApp.url,
        inApp.key,
        () => `/api/v1/decide/${personOf()}?record=false`,
        seconds,
        rate,
      );
      m = 0;
      on = await load(inApp.url, inApp.key, () => `/api/v1/decide/${personOf()}`, seconds, rate);
      inAppHealth = await load(inApp.url, inApp.key, () => '/healthz', seconds, rate);
      if (on.failed + off.failed > 0) throw new Error(`${on.failed + off.failed} decide requests failed`);
    } finally {
      await stopBenchServer(inApp);
    }
    const recorded = await decideExposures(db);
    const worst = Math.max(off.p99, inAppHealth.p99);
    return {
      name: 'decide',
      description: this.description,
      rows: [
        {
          metric: 'decide p99',
          value: decide.p99,
          unit: 'ms',
          limit: 10,
          limitLabel: 'target',
          ratio: 10 / Math.max(decide.p99, 1),
          target: 1,
          note: `${decide.ok.toLocaleString('en-US')} decisions at ${Math.round(decide.rps)} req/s over ${ids.length.toLocaleString('en-US')} people in segments; p50 ${decide.p50} ms`,
        },
        {
          metric: 'decide p50',
          value: decide.p50,
          unit: 'ms',
          limit: health.p50,
          limitLabel: '/healthz p50, same rate',
        },
        {
          metric: '/healthz p99',
          value: health.p99,
          unit: 'ms',
          limit: decide.p99,
          limitLabel: 'decide p99',
        },
        {
          metric: 'decide p99, recording exposures (all plays in-app)',
          value: on.p99,
          unit: 'ms',
          limit: worst + 1,
          limitLabel: 'recording off (or /healthz) p99 + 1 ms',
          ratio: (worst + 1) / Math.max(on.p99, 0.001),
          target: 1,
          note: `${recorded.toLocaleString('en-US')} exposures stored from ${on.ok.toLocaleString('en-US')} decisions; p50 ${on.p50} ms`,
        },
        {
          metric: 'decide p99, recording off (?record=false)',
          value: off.p99,
          unit: 'ms',
          limit: inAppHealth.p99,
          limitLabel: '/healthz p99, same server and rate',
          note: `p50 ${off.p50} ms; /healthz p50 ${inAppHealth.p50} ms`,
        },
      ],
      details: {
        people,
        seconds,
        rate,
        decide,
        health,
        exposures: { on, off, health: inAppHealth, recorded },
      },
    };
  },
};
