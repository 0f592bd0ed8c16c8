import { mkdirSync, rmSync } from 'node:fs';
import autocannon from 'autocannon';
import { openWarehouse } from '../src/engine/open.js';
import { generateEvents } from '../src/generate/index.js';
import type { Benchmark, BenchRow } from './harness.js';
import { type BenchServer, spawnBenchServer, stopBenchServer } from './spawn-server.js';

/**
 * Collector throughput: a load generator on loopback (autocannon, in this process) posts 100-event `/v1/batch`
 * requests of generated Segment-spec events — each request with fresh messageIds, so every event is really stored —
 * to `segflow serve` (its own process) with durable acknowledgements, and then to the same server answering without
 * storing (the HTTP limit), in the same run. After the run the stored events are counted: every 200 must account for
 * 100 stored events, or the figure is not reported.
 *
 * Args: `--seconds N` (default 15) per server, `--connections N` (default 128: many SDK clients at once).
 * Targets: ≥ 100,000 events/s durable, and ≥ 50% of the no-store limit.
 */
const BATCH = 100;
const MARK = '@@REQ@@';

function argValue(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

/** Request bodies as templates: generated events (realistic sizes and shapes) with a per-request messageId slot. */
function bodyTemplates(count: number): string[][] {
  const events: Record<string, unknown>[] = [];
  for (const unit of generateEvents({ people: 400, days: 60, seed: 11, profile: 'ecommerce' })) {
    for (const e of unit.events) events.push({ ...e });
    if (events.length >= count * BATCH) break;
  }
  const templates: string[][] = [];
  for (let t = 0; t < count && (t + 1) * BATCH <= events.length; t++) {
    const batch = events
      .slice(t * BATCH, (t + 1) * BATCH)
      .map((e, i) => ({ ...e, messageId: `${MARK}-${i}` }));
    templates.push(JSON.stringify({ batch }).split(MARK));
  }
  return templates;
}

type ServerProcess = BenchServer;

function startServer(mode: 'store' | 'nostore', dbPath: string): Promise<ServerProcess> {
  return spawnBenchServer('./collect-server.ts', [mode, dbPath]);
}

const stopServer = stopBenchServer;

interface LoadResult {
  ok: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
}

async function drive(
  server: ServerProcess,
  templates: string[][],
  options: { seconds: number; connections: number; prefix: string },
): Promise<LoadResult> {
  let n = 0;
  const result = await autocannon({
    url: `${server.url}/v1/batch`,
    connections: options.connections,
    duration: options.seconds,
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${server.key}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    requests: [
      {
        setupRequest: (req) => {
          const template = templates[n % templates.length]!;
          req.body = template.join(`${options.prefix}${n++}`);
          return req;
        },
      },
    ],
  });
  return {
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/** How the server loaded its intake log during the run, from its own /metrics. */
async function loadFigures(server: ServerProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const loads = value('segflow_load_duration_seconds_count');
  const commits = value('segflow_commit_duration_seconds_count');
  return {
    loads,
    meanLoadEvents: value('segflow_load_events_sum') / loads,
    meanLoadSeconds: value('segflow_load_duration_seconds_sum') / loads,
    commits,
    meanCommitEvents: value('segflow_commit_events_sum') / commits,
    meanCommitSeconds: value('segflow_commit_duration_seconds_sum') / commits,
  };
}

export const collectBenchmark: Benchmark = {
  name: 'collect',
  description: '100-event /v1/batch requests on loopback: durable acks vs the same server storing nothing',
  async run(args) {
    const seconds = argValue(args, '--seconds', 15);
    const connections = argValue(args, '--connections', 128);
    const dir = new URL('./data/', import.meta.url).pathname;
    mkdirSync(dir, { recursive: true });
    const templates = bodyTemplates(200);
    const bytes = templates.reduce((s, t) => s + t.join('x-0').length, 0) / templates.length;

    const limitDb = `${dir}collect-nostore.duckdb`;
    const storeDb = `${dir}collect-store.duckdb`;
    const clean = () => {
      for (const p of [limitDb, storeDb]) {
        rmSync(p, { force: true });
        rmSync(`${p}.wal`, { force: true });
        rmSync(`${p}.intake`, { recursive: true, force: true });
      }
    };
    clean();

    const limitServer = await startServer('nostore', limitDb);
    await drive(limitServer, templates, { seconds: 2, connections, prefix: 'warm' });
    const limit = await drive(limitServer, templates, { seconds, connections, prefix: 'l' });
    await stopServer(limitServer);

    const storeServer = await startServer('store', storeDb);
    const ours = await drive(storeServer, templates, { seconds, connections, prefix: 's' });
    const loads = await loadFigures(storeServer);
    // Stopping loads whatever the warehouse had not yet loaded from the intake log: timed, so a loader that fell
    // behind shows here (and the count below only sees what was loaded).
    const stopStarted = performance.now();
    await stopServer(storeServer);
    const drainSeconds = (performance.now() - stopStarted) / 1000;

    // Honesty check: every acknowledged request's 100 events are in the database, once.
    const wh = await openWarehouse({ path: storeDb, readOnly: true });
    const [stored] = await wh.query<{ n: number; d: number }>(
      'SELECT count(*)::BIGINT AS n, count(DISTINCT message_id)::BIGINT AS d FROM events',
    );
    await wh.close();
    clean();
    const storedEvents = Number(stored!.n);
    if (storedEvents < ours.ok * BATCH || Number(stored!.d) !== storedEvents) {
      throw new Error(
        `acknowledged ${ours.ok * BATCH} events but ${storedEvents} are stored (${stored!.d} distinct): not reporting`,
      );
    }

    const oursRate = (ours.ok * BATCH) / ours.seconds;
    const limitRate = (limit.ok * BATCH) / limit.seconds;
    const rows: BenchRow[] = [
      {
        metric: 'durable events/s',
        value: oursRate,
        unit: 'events/s',
        limit: limitRate,
        limitLabel: 'same server, no storage',
        ratio: oursRate / limitRate,
        target: 0.5,
        note: `${(ours.ok * BATCH).toLocaleString('en-US')} events acknowledged and found stored, ${ours.failed} non-2xx/errors; ${connections} connections, ${seconds} s, ~${Math.round(bytes / 1024)} KB per request; stopping the server (loading its backlog) took ${drainSeconds.toFixed(2)} s`,
      },
      {
        metric: 'durable events/s vs 100k target',
        value: oursRate,
        unit: 'events/s',
        limit: 100_000,
        limitLabel: 'target',
        ratio: oursRate / 100_000,
        target: 1,
      },
      {
        metric: 'ack latency p50',
        value: ours.p50,
        unit: 'ms',
        limit: limit.p50,
        limitLabel: 'no storage',
        note: 'time from request sent to 200, which comes only after the group commit',
      },
      { metric: 'ack latency p99', value: ours.p99, unit: 'ms', limit: limit.p99, limitLabel: 'no storage' },
    ];
    return {
      name: 'collect',
      description: this.description,
      rows,
      details: {
        seconds,
        connections,
        requestBytes: Math.round(bytes),
        ours,
        limit,
        storedEvents,
        drainSeconds,
        loads,
      },
    };
  },
};
