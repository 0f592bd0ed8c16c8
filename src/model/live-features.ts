import { Params } from '../engine/params.js';
import { FEATURE_REFRESHES, FEATURES } from '../engine/schema.js';
import type { Warehouse } from '../engine/warehouse.js';
import { loadEventKinds } from '../instrument/event-kinds.js';
import { eventsRelation, withMergedIdsSql } from '../instrument/persons-on-events.js';
import { DIRTY_STAGED, dirtyPersonsSql, dirtyStagingSql, featureSql } from './feature-sql.js';
import type { ModelConfig } from './model-config.js';

/**
 * The live features snapshot: streaming keeps one snapshot current in place, so that an evaluation costs in
 * proportion to the people it concerns, not to the population. Each evaluation as of T recomputes from their events
 * only the people whose features can have changed since the last evaluation (events stored since, or an event
 * crossing one of the models' windows: `dirtyPersonsSql`) and replaces their rows; everyone else's row stays as it
 * is. The snapshot keeps the `as_of` it was written at (a refresh, `refreshFeatures`), its rows are each person's
 * features as of their latest recomputation.
 *
 * That equals a full refresh as of T for every column that only a person's own events and the models' windows move.
 * Two kinds of column move otherwise and are not kept current for the people not recomputed: `TIME_OR_POPULATION_COLUMNS`
 * (recency and the decayed scores move with time alone; the RFM scores rank everyone at once, so one person's
 * purchase can move another's). Streaming keeps the live snapshot only when no segment reads them (`pipeline/stream.ts`).
 *
 * A later incremental refresh may start from the live snapshot: the people changed in place are among those it
 * recomputes (events stored after the snapshot's ingest batch, or crossing a window since its as-of), and the rows it
 * carries over are untouched since the snapshot was written.
 */

/** Feature columns that change with time alone (recency, decayed scores and their tiers) or with other people (RFM). */
export const TIME_OR_POPULATION_COLUMNS: readonly string[] = [
  'rfm_recency_days',
  'engagement_score',
  'engagement_tier',
  'intent_score',
  'intent_tier',
  'rfm_r',
  'rfm_f',
  'rfm_m',
  'rfm_rf_sum',
  'rfm_code',
  'rfm_group',
];

/** The scratch relation of the people to recompute; `featureSql` reads it by this name. */
const DIRTY = 'features_dirty';
const FRESH = '_sf_live_fresh';

export interface LiveFeaturesUpdate {
  /** People recomputed from their events (their rows replaced). */
  recomputed: number;
  seconds: number;
}

/**
 * Bring the live snapshot (the features snapshot at `snapshot`) to `asOf` for the people whose features can have
 * changed since `since` (an evaluation that saw ingest batches up to `batch`), and leave those people in the scratch
 * relation `changed` (person_id) for the segments' scope; the caller drops it.
 *
 * @example
 * await updateLiveFeatures(wh, modelConfig(), {
 *   snapshot: new Date('2026-05-04T12:00:00Z'), // written by refreshFeatures
 *   since: new Date('2026-05-04T12:00:05Z'), // the last evaluation
 *   batch: 41,
 *   asOf: new Date('2026-05-04T12:00:06Z'),
 *   changed: '_sf_live_changed',
 * });
 */
export async function updateLiveFeatures(
  wh: Warehouse,
  cfg: ModelConfig,
  o: { snapshot: Date; since: Date; batch: number; asOf: Date; changed: string },
): Promise<LiveFeaturesUpdate> {
  const started = performance.now();
  const recomputed = await wh.transaction(async (tx) => {
    const relation = await eventsRelation(tx);
    const dp = new Params();
    await tx.storage.createScratch({
      name: DIRTY,
      select: dirtyPersonsSql(cfg, dp, { since: o.since, asOf: o.asOf, batch: o.batch }, relation),
      params: dp.values,
    });
    await tx.storage.createScratch({ name: o.changed, select: `SELECT person_id FROM ${DIRTY}` });
    const [n] = await tx.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${DIRTY}`);
    const count = Number(n!.n);
    if (count) {
      // Their rows as of T, scored against everyone (the other rows are read only for the RFM ranks).
      const p = new Params();
      const kinds = await loadEventKinds(tx);
      for (const staged of dirtyStagingSql(cfg, o.asOf, kinds)) await tx.storage.createScratch(staged);
      const sql = featureSql(tx.dialect, cfg, p, o.asOf, { since: o.snapshot, events: relation, kinds });
      await tx.storage.createScratch({
        name: FRESH,
        select: `SELECT * FROM (${sql}) x WHERE x.person_id IN (SELECT person_id FROM ${DIRTY})`,
        params: p.values,
      });
      // A person merged into a recomputed one since has a merged-away id: their row goes (as a refresh would no longer
      // carry it).
      await tx.run(`DELETE FROM features WHERE as_of = ? AND person_id IN (${withMergedIdsSql(DIRTY)})`, [
        o.snapshot,
      ]);
      const columns = FEATURES.columns.map((c) => c.name);
      await tx.run(
        `INSERT INTO features (${columns.join(', ')})
         SELECT ${columns.map((c) => (c === 'as_of' ? `CAST(? AS ${tx.dialect.columnType('timestamp')})` : c)).join(', ')}
         FROM ${FRESH}`,
        [o.snapshot],
      );
      for (const t of [FRESH, ...DIRTY_STAGED]) await tx.storage.dropScratch(t);
      await recountSnapshot(tx, o.snapshot);
    }
    await tx.storage.dropScratch(DIRTY);
    return count;
  });
  return { recomputed, seconds: (performance.now() - started) / 1000 };
}

/**
 * The refresh log's person count for the snapshot (an incremental refresh starts from a snapshot only when its rows
 * are all there: new people change the count). Rewritten, not updated: the log has no key to update by on every engine.
 */
async function recountSnapshot(tx: Warehouse, asOf: Date): Promise<void> {
  const columns = FEATURE_REFRESHES.columns.map((c) => c.name);
  const [row] = await tx.query<Record<string, unknown>>('SELECT * FROM feature_refreshes WHERE as_of = ?', [
    asOf,
  ]);
  if (!row) return;
  const [n] = await tx.query<{ n: bigint }>('SELECT count(*) AS n FROM features WHERE as_of = ?', [asOf]);
  await tx.run('DELETE FROM feature_refreshes WHERE as_of = ?', [asOf]);
  await tx.run(
    `INSERT INTO feature_refreshes (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    columns.map((c) => {
      const v = c === 'persons' ? n!.n : row[c];
      return (typeof v === 'bigint' ? Number(v) : v) as never;
    }),
  );
}
