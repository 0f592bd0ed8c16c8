import { runActivation } from '../activate/activate-run.js';
import { parsePlaybook } from '../activate/playbook.js';
import type { Warehouse } from '../engine/warehouse.js';
import { startResponder } from '../generate/respond.js';
import { ingestMessages } from '../instrument/ingest-messages.js';
import { type MeasureReport, measureReport } from '../measure/measure-report.js';
import { SegmentDefinition } from '../segment/definition.js';
import { refreshSegments } from '../segment/memberships.js';

/**
 * The whole loop on simulated people, with a known answer: a play with a 10 % holdout targets active shoppers at
 * `start`; its webhook reaches simulated customers who buy `value` more with probability `uplift` because of it
 * (src/generate/respond.ts); their purchases are ingested; the lift report reads revenue per person and conversion
 * over the next `windowDays`. The true lift in revenue per person is `uplift × value`.
 */
export interface PlayExperiment {
  report: MeasureReport;
  trueRevenueLift: number;
  caused: number;
  delivered: number;
}

export async function runPlayExperiment(
  wh: Warehouse,
  o: { start: Date; windowDays: number; uplift: number; value: number; holdout?: number },
): Promise<PlayExperiment> {
  const responder = await startResponder({
    uplift: o.uplift,
    value: o.value,
    withinDays: o.windowDays,
    seed: 'demo',
  });
  try {
    const holdout = o.holdout ?? 0.1;
    const segment = SegmentDefinition.parse({
      name: 'active-shoppers',
      where: { performed: { event: 'Product Viewed', within: '30d' } },
    });
    const pb = parsePlaybook(`
consent: { default: allow }
destinations:
  customers: { type: webhook, url: "${responder.url}", secret: "whsec_ZGVtbyBzZWNyZXQgZm9yIHRoZSBwbGF5IGV4cGVyaW1lbnQ=" }
plays:
  - { name: spring-perks, segment: active-shoppers, offer: spring perks, channel: email, destination: customers, holdout: ${holdout}, kpi: revenue_per_person }
`);
    const before = new Date(o.start.getTime() - 3_600_000);
    await runActivation(wh, pb, { asOf: before });
    await refreshSegments(wh, [{ definition: segment }], { asOf: o.start });
    const run = await runActivation(wh, pb, { asOf: o.start });
    await ingestMessages(wh, responder.purchases, { source: 'simulated-response' });
    const report = await measureReport(wh, {
      play: 'spring-perks',
      asOf: new Date(o.start.getTime() + (o.windowDays + 1) * 86_400_000),
      holdoutShare: holdout,
      kpis: [
        { name: 'revenue_per_person', definition: { kind: 'revenue', within: `${o.windowDays}d` } },
        {
          name: 'conversion_rate',
          definition: { kind: 'conversion', event: 'Order Completed', within: `${o.windowDays}d` },
        },
      ],
    });
    return {
      report,
      trueRevenueLift: o.uplift * o.value,
      caused: responder.purchases.length,
      delivered: run.outbox.sent,
    };
  } finally {
    await responder.close();
  }
}
