import type { Warehouse } from '../engine/warehouse.js';
import { featureSource } from '../model/feature-catalog.js';
import { modelConfig } from '../model/model-config.js';
import { refreshFeatures } from '../model/refresh-features.js';
import { funnelReport, rfmReport } from '../model/reports.js';
import { loadDefinitions } from '../segment/load-definitions.js';
import { refreshSegments } from '../segment/memberships.js';
import { predictSection } from './predict-section.js';

const n = (x: number) => x.toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const say = (line = '') => process.stdout.write(`${line}\n`);
const EXAMPLES = new URL('../../examples/segments', import.meta.url).pathname;

/** Model and Segment: features as of T, the RFM groups, lifecycle, engagement, a funnel, and the example segments. */
export async function modelSection(
  wh: Warehouse,
  options: { asOf: Date; segments: boolean; funnel: boolean; predict?: { firstEvent: Date } },
): Promise<void> {
  const cfg = modelConfig();
  // A refresh a day earlier, then the one as of T: the second recomputes only the people whose features can have
  // changed in that day and carries the others over.
  const before = await refreshFeatures(wh, cfg, {
    asOf: new Date(options.asOf.getTime() - 86_400_000),
    full: true,
  });
  const f = await refreshFeatures(wh, cfg, { asOf: options.asOf });
  say(
    `\n2. Model: behavioral features for ${n(f.persons)} people as of ${options.asOf.toISOString().slice(0, 10)} (${f.seconds.toFixed(1)} s)`,
  );
  say(
    f.mode === 'incremental'
      ? `   incremental: ${n(f.recomputed)} people recomputed from their events, ${n(f.persons - f.recomputed)} carried over from the refresh a day earlier (that full refresh: ${before.seconds.toFixed(1)} s)`
      : '   full refresh',
  );
  const rfm = await rfmReport(wh, { asOf: options.asOf });
  say(`   RFM groups of the ${n(rfm.customers)} customers (share of customers → share of revenue):`);
  for (const g of rfm.groups)
    say(
      `   ${g.group.padEnd(20)} ${n(g.customers).padStart(7)}  ${pct(g.share).padStart(6)} → ${pct(g.revenueShare).padStart(6)}`,
    );
  const count = async (column: string) =>
    wh.query<{ v: string; n: number }>(
      `SELECT ${column} AS v, count(*) AS n FROM features WHERE as_of = ? GROUP BY 1 ORDER BY 2 DESC`,
      [options.asOf],
    );
  say(`   lifecycle: ${(await count('lifecycle_stage')).map((r) => `${r.v} ${n(Number(r.n))}`).join(' · ')}`);
  say(
    `   engagement: ${(await count('engagement_tier')).map((r) => `${r.v} ${n(Number(r.n))}`).join(' · ')}`,
  );
  say(
    `   purchase intent: ${(await count('intent_tier')).map((r) => `${r.v} ${n(Number(r.n))}`).join(' · ')}`,
  );
  if (options.funnel) {
    const fr = await funnelReport(wh, cfg, 'purchase', { asOf: options.asOf });
    say(
      `   purchase funnel (within ${fr.within}): ${fr.rows[0]!.steps.map((s) => `${s.step} ${n(s.people)} (${pct(s.fromStart)})`).join(' → ')}`,
    );
  }
  if (options.predict) {
    await predictSection(wh, {
      asOf: options.asOf,
      firstEvent: options.predict.firstEvent,
      churnHorizonDays: 14,
    });
  }
  if (!options.segments) return;
  const loaded = loadDefinitions(EXAMPLES);
  // As for features: memberships a day earlier, then as of T, when only the people whose memberships can have changed
  // in that day are evaluated again.
  const earlier = await refreshSegments(wh, loaded.definitions, {
    asOf: new Date(options.asOf.getTime() - 86_400_000),
    features: featureSource(wh.dialect),
  });
  const r = await refreshSegments(wh, loaded.definitions, {
    asOf: options.asOf,
    features: featureSource(wh.dialect),
  });
  say(
    `\n3. Segment: ${r.segments.length} example segments (examples/segments) refreshed in ${r.seconds.toFixed(1)} s`,
  );
  say(
    r.mode === 'incremental'
      ? `   incremental: ${n(r.recomputed)} people evaluated again, the others kept their memberships from the refresh a day earlier (that full refresh: ${earlier.seconds.toFixed(1)} s, ${n(earlier.recomputed)} people)`
      : '   full refresh',
  );
  const label = new Map(
    loaded.definitions.map((d) => [d.definition.name, d.definition.label ?? d.definition.name]),
  );
  for (const s of r.segments)
    say(`   ${String(label.get(s.name)).padEnd(30)} ${n(s.size).padStart(7)} people`);
}
