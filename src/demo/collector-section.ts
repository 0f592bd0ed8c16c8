import type { Warehouse } from '../engine/warehouse.js';
import { generateEvents } from '../generate/index.js';
import { createApiKey } from '../govern/api-keys.js';
import { buildServer } from '../server/app.js';

const n = (x: number) => x.toLocaleString('en-US');
const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * Live events through the collector: `segflow serve`'s server on a free loopback port over the demo's database,
 * fed by plain HTTP `/v1/batch` requests (what every Segment SDK sends), then a profile read back through the admin API.
 */
export async function collectorSection(
  wh: Warehouse,
  options: { people: number; seed: number },
): Promise<void> {
  const write = await createApiKey(wh, 'write', { name: 'demo sdk' });
  const read = await createApiKey(wh, 'read', { name: 'demo dashboard' });
  const server = await buildServer({ warehouse: wh });
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  try {
    // New visitors arrive while the server runs (another seed: people the import has not seen).
    const live: object[] = [];
    for (const unit of generateEvents({
      people: options.people,
      days: 14,
      seed: options.seed,
      profile: 'ecommerce',
    })) {
      for (const e of unit.events)
        live.push({
          ...e,
          messageId: `live-${e.messageId}`,
          userId: e.userId && `live-${e.userId}`,
          anonymousId: e.anonymousId && `live-${e.anonymousId}`,
        });
    }
    const auth = `Basic ${Buffer.from(`${write.key}:`).toString('base64')}`;
    const started = performance.now();
    let accepted = 0;
    let rejected = 0;
    const batches: object[][] = [];
    for (let i = 0; i < live.length; i += 100) batches.push(live.slice(i, i + 100));
    // Eight SDK clients at once, like a fleet of app servers: the collector commits their batches together.
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let b = c; b < batches.length; b += 8) {
          const r = await fetch(`${url}/v1/batch`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json' },
            body: JSON.stringify({ batch: batches[b], sentAt: new Date().toISOString() }),
          });
          const body = (await r.json()) as { accepted: number; rejected: number };
          if (r.status !== 200) throw new Error(`collector answered ${r.status}: ${JSON.stringify(body)}`);
          accepted += body.accepted;
          rejected += body.rejected;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    say(`\nLive events through the collector (segflow serve on ${url})`);
    say(
      `   ${n(batches.length)} /v1/batch requests from 8 clients: ${n(accepted)} events acknowledged after a durable commit, ` +
        `${n(rejected)} rejected, in ${seconds.toFixed(1)} s (${n(Math.round(accepted / seconds))} events/s)`,
    );
    const someone = live.find((e) => (e as { type: string }).type === 'identify') as
      | { userId: string }
      | undefined;
    if (someone) {
      const r = await fetch(`${url}/api/v1/persons/${encodeURIComponent(someone.userId)}?events=3`, {
        headers: { authorization: `Bearer ${read.key}` },
      });
      const p = (await r.json()) as {
        personId: string;
        identifiers: unknown[];
        eventCount: number;
        traits: object;
      };
      say(
        `   admin API: GET /api/v1/persons/${someone.userId} → ${p.identifiers.length} identifiers, ${n(p.eventCount)} events, traits ${Object.keys(p.traits).join(', ') || '-'}`,
      );
    }
    // What "durable" meant: an fsync of the intake log per group, loads into the warehouse behind the answers.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const figure = (name: string) =>
      Number(
        metrics
          .split('\n')
          .find((line) => line.startsWith(`${name} `))
          ?.slice(name.length + 1) ?? 0,
      );
    const loads = figure('segflow_loads_total{result="ok"}');
    say(
      `   durable: ${n(figure('segflow_commit_duration_seconds_count'))} group commits fsync'd to the intake log (${wh.location}.intake); ` +
        `the warehouse loaded them behind the acknowledgements in ${n(loads)} transaction${loads === 1 ? '' : 's'}`,
    );
  } finally {
    await server.app.close();
  }
}
