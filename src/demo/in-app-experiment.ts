import { parsePlaybook } from '../activate/playbook.js';
import type { Warehouse } from '../engine/warehouse.js';
import { simulatedResponse } from '../generate/respond.js';
import { ingestMessages } from '../instrument/ingest-messages.js';
import { type MeasureReport, measureReport } from '../measure/measure-report.js';
import { DecideSnapshot } from '../personalize/decide-snapshot.js';
import { ExposureRecorder } from '../personalize/exposure-recorder.js';
import { SegmentDefinition } from '../segment/definition.js';
import { refreshSegments } from '../segment/memberships.js';
import { fnv1a32 } from '../shared/arm-assignment.js';

/**
 * An in-app play measured end to end on a simulated clock, with a known answer. A banner play with no destination
 * (served by decide() only, 10 % held out) targets people who browsed in the 30 days before `start`. Each of them
 * opens the app `visits` times over the next `visitDays`; at every visit the app asks decide() — the server's path:
 * an in-memory snapshot and the exposure recorder — what to show. A simulated customer shown the banner buys
 * `value` more with probability `uplift` within `windowDays` of first seeing it (src/generate/respond.ts); held-out
 * people never see it. Exposures are recorded as decide() answers (once per person, however many visits), and
 * `measure report` reads revenue per person over the window from each person's first exposure. The true lift in
 * revenue per person is `uplift × value`.
 */
export interface InAppExperiment {
  report: MeasureReport;
  trueRevenueLift: number;
  /** decide() calls made (all visits). */
  decisions: number;
  /** People shown the banner at least once. */
  served: number;
  /** Exposures recorded (one per person: treatment or holdout). */
  exposures: number;
  caused: number;
}

export const IN_APP_PLAY = 'checkout-banner';

export async function runInAppExperiment(
  wh: Warehouse,
  o: {
    start: Date;
    windowDays: number;
    uplift: number;
    value: number;
    holdout?: number;
    visits?: number;
    visitDays?: number;
  },
): Promise<InAppExperiment> {
  const holdout = o.holdout ?? 0.1;
  const visits = o.visits ?? 3;
  const visitDays = o.visitDays ?? 7;
  const seed = 'in-app demo';
  const segment = SegmentDefinition.parse({
    name: 'app-browsers',
    where: { performed: { event: 'Product Viewed', within: '30d' } },
  });
  const pb = parsePlaybook(`
consent: { default: allow }
plays:
  - { name: ${IN_APP_PLAY}, segment: app-browsers, offer: free shipping today, channel: in_app, holdout: ${holdout}, kpi: revenue_per_person, content: { banner: "Free shipping on orders today" } }
`);
  await refreshSegments(wh, [{ definition: segment }], { asOf: o.start });
  const members = await wh.query<{ person_id: string }>(
    "SELECT DISTINCT person_id FROM segment_memberships WHERE segment = 'app-browsers' AND exited_at IS NULL ORDER BY person_id",
  );
  // Every visit of every member, in time order: the simulated clock.
  const unit = (text: string) => fnv1a32(text) / 2 ** 32;
  const schedule = members.flatMap(({ person_id }) =>
    Array.from({ length: visits }, (_, k) => ({
      person: person_id,
      at: new Date(o.start.getTime() + unit(`${seed}:visit:${person_id}:${k}`) * visitDays * 86_400_000),
    })),
  );
  schedule.sort((a, b) => a.at.getTime() - b.at.getTime() || a.person.localeCompare(b.person));
  const snapshot = await DecideSnapshot.load(wh, pb, o.start);
  const recorder = new ExposureRecorder(wh);
  await recorder.lastExposed();
  const model = { uplift: o.uplift, value: o.value, withinDays: o.windowDays, seed };
  const served = new Set<string>();
  const purchases: Record<string, unknown>[] = [];
  let exposures = 0;
  try {
    for (const visit of schedule) {
      const d = snapshot.decide(pb, visit.person, visit.at, recorder.exposedAt(visit.person));
      recorder.record(pb, d.exposures);
      exposures += d.exposures.length;
      if (d.play?.name !== IN_APP_PLAY || served.has(visit.person)) continue;
      served.add(visit.person);
      const bought = simulatedResponse(model, {
        person: visit.person,
        at: visit.at,
        play: IN_APP_PLAY,
        id: `${IN_APP_PLAY}:${visit.person}`,
      });
      if (bought) purchases.push(bought);
    }
  } finally {
    await recorder.close();
  }
  await ingestMessages(wh, purchases, { source: 'simulated-response' });
  const report = await measureReport(wh, {
    play: IN_APP_PLAY,
    asOf: new Date(o.start.getTime() + (visitDays + o.windowDays + 1) * 86_400_000),
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
    decisions: schedule.length,
    served: served.size,
    exposures,
    caused: purchases.length,
  };
}
