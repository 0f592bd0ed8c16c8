import { packagePath } from '../config/package-files.js';
import type { Warehouse } from '../engine/warehouse.js';
import { modelConfig } from '../model/model-config.js';
import { funnelReport, rfmReport } from '../model/reports.js';
import { type RefreshSummary, runRefreshPipeline } from '../pipeline/refresh-pipeline.js';
import { type LoadedDefinition, loadDefinitions } from '../segment/load-definitions.js';
import { predictSection } from './predict-section.js';

const n = (x: number) => x.toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const say = (line = '') => process.stdout.write(`${line}\n`);
const EXAMPLES = packagePath('examples', 'segments');

/** The demo's refresh: the refresh pipeline with the default model configuration, audited as the demo. */
export function demoRefresh(
  wh: Warehouse,
  o: { asOf: Date; full: boolean; segments: readonly LoadedDefinition[] },
): Promise<RefreshSummary> {
  return runRefreshPipeline(wh, { ...o, model: modelConfig(), actor: { actor: 'demo', source: 'demo' } });
}

/** Model and Segment: features as of T, the RFM groups, lifecycle, engagement, a funnel, and the example segments. */
export async function modelSection(
  wh: Warehouse,
  options: { asOf: Date; segments: boolean; funnel: boolean; predict?: { firstEvent: Date } },
): Promise<void> {
  const cfg = modelConfig();
  const segments = options.segments ? loadDefinitions(EXAMPLES).definitions : [];
  // The refresh pipeline a day earlier (everyone), then as of T: the second recomputes only the people whose features
  // or memberships can have changed in that day and carries the others over. Segments come after the predictive
  // models, whose scores some of them read: the pipeline runs again then, with nothing left to do for the features.
  const dayEarlier = new Date(options.asOf.getTime() - 86_400_000);
  const pipeline = (asOf: Date, full: boolean, withSegments: boolean) =>
    demoRefresh(wh, { asOf, full, segments: withSegments ? segments : [] });
  const before = await pipeline(dayEarlier, true, false);
  const now = await pipeline(options.asOf, false, false);
  const f = now.features;
  say(
    `\n2. Model: behavioral features for ${n(f.persons)} people as of ${options.asOf.toISOString().slice(0, 10)} (${f.seconds.toFixed(1)} s)`,
  );
  say(
    f.mode === 'incremental'
      ? `   incremental: ${n(f.recomputed)} people recomputed from their events, ${n(f.persons - f.recomputed)} carried over from the refresh a day earlier (that full refresh: ${before.features.seconds.toFixed(1)} s)`
      : '   full refresh',
  );
  const rfm = await rfmReport(wh, { asOf: options.asOf });
  say(`   RFM groups of the ${n(rfm.customers)} customers (share of customers → share of revenue):`);
  for (const g of rfm.groups)
    say(
      `   ${g.group.padEnd(20)} ${n(g.customers).padStart(7)}  ${pct(g.share).padStart(6)} → ${pct(g.revenueShare).padStart(6)}`,
    );
  // Ties in size are listed by name: engines order them differently, and the report must not depend on the engine.
  const count = async (column: string) =>
    wh.query<{ v: string; n: number }>(
      `SELECT ${column} AS v, count(*) AS n FROM features WHERE as_of = ? GROUP BY 1 ORDER BY 2 DESC, 1`,
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
  const loaded = { definitions: segments };
  const earlier = (await pipeline(dayEarlier, false, true)).segmentRefresh!;
  const r = (await pipeline(options.asOf, false, true)).segmentRefresh!;
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
