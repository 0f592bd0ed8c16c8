import { runActivation } from '../src/activate/activate-run.js';
import { parsePlaybook } from '../src/activate/playbook.js';
import { openWarehouse } from '../src/engine/open.js';
import { startResponder } from '../src/generate/respond.js';
import { ingestMessages } from '../src/instrument/ingest-messages.js';
import { SegmentDefinition } from '../src/segment/definition.js';
import { refreshSegments } from '../src/segment/memberships.js';
import type { Benchmark } from './harness.js';

/**
 * Activation at scale: N people enter a segment in one refresh; one `activate run` decides for all of them (re-entry,
 * consent, arm, exposures, outbox rows) and delivers every treated person's signed webhook to a receiver on
 * loopback. Beside it, in the same run, the bare cost of the same number of POSTs to the same receiver at the same
 * concurrency (32) — the limit no outbox can beat. Args: `--people N` (default 20,000).
 */
function argValue(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

export const activateBenchmark: Benchmark = {
  name: 'activate',
  description: 'one activate run for N people entering a segment (decisions + signed webhooks) vs bare POSTs',
  async run(args) {
    const people = argValue(args, '--people', 20_000);
    const receiver = await startResponder({ uplift: 0, value: 1, withinDays: 1, seed: 'bench' });
    const wh = await openWarehouse({ path: ':memory:' });
    try {
      const pb = parsePlaybook(`consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "whsec_YmVuY2ggc2VjcmV0IGJlbmNoIHNlY3JldCBiZW5jaA==" }
plays:
  - { name: big, segment: buyers, offer: x, channel: webhook, destination: hook, holdout: 0.1 }`);
      const T = Date.parse('2026-03-01T00:00:00Z');
      await runActivation(wh, pb, { asOf: new Date(T) });
      await ingestMessages(
        wh,
        Array.from({ length: people }, (_, i) => ({
          type: 'track',
          event: 'Order Completed',
          userId: `u${i}`,
          timestamp: new Date(T + 3_600_000).toISOString(),
          messageId: `m${i}`,
        })),
        { source: 'bench' },
      );
      const buyers = SegmentDefinition.parse({
        name: 'buyers',
        where: { performed: { event: 'Order Completed', within: '7d' } },
      });
      await refreshSegments(wh, [{ definition: buyers }], { asOf: new Date(T + 2 * 3_600_000) });
      let t = performance.now();
      const run = await runActivation(wh, pb, { asOf: new Date(T + 3 * 3_600_000) });
      const ours = (performance.now() - t) / 1000;
      const sent = run.outbox.sent;
      if (receiver.received !== sent)
        throw new Error(`sent ${sent} but the receiver got ${receiver.received}`);
      // The limit: the same number of POSTs with the same body size, 32 at a time, and nothing else.
      const body = JSON.stringify({
        id: 'x',
        person: { id: 'u', traits: {} },
        play: 'big',
        occurred_at: new Date(T).toISOString(),
        content: {},
      });
      t = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < sent) {
            const i = next++;
            const r = await fetch(receiver.url, {
              method: 'POST',
              body,
              headers: { 'webhook-id': `bare-${i}` },
            });
            await r.arrayBuffer();
          }
        }),
      );
      const bare = (performance.now() - t) / 1000;
      return {
        name: 'activate',
        description: this.description,
        rows: [
          {
            metric: `activate run, ${people.toLocaleString('en-US')} people entering`,
            value: ours,
            unit: 's',
            limit: bare,
            limitLabel: `${sent.toLocaleString('en-US')} bare POSTs`,
            ratio: bare / ours,
            note: `${sent.toLocaleString('en-US')} webhooks delivered and ${run.plays[0]!.withheld.toLocaleString('en-US')} held out; ${Math.round(sent / ours).toLocaleString('en-US')} deliveries/s including every decision`,
          },
        ],
        details: { people, sent, seconds: ours, bareSeconds: bare },
      };
    } finally {
      await wh.close();
      await receiver.close();
    }
  },
};
