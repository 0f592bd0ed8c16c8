import { createHash } from 'node:crypto';
import { Params } from '../engine/params.js';
import { ACCOUNT_FEATURES, FEATURE_REFRESHES, FEATURES } from '../engine/schema.js';
import type { Warehouse } from '../engine/warehouse.js';
import { type EventKinds, loadEventKinds } from '../instrument/event-kinds.js';
import { eventsRelation } from '../instrument/persons-on-events.js';
import {
  accountFeatureSql,
  DIRTY_STAGED,
  dirtyPersonsSql,
  dirtyStagingSql,
  featureSql,
} from './feature-sql.js';
import type { ModelConfig } from './model-config.js';

/** Bumped whenever the feature SQL changes what it computes, so rows of an older version are never carried over. */
const FEATURE_SQL_VERSION = 1;

/** The scratch relation of the people an incremental refresh recomputes; `featureSql` reads it by this name. */
const DIRTY = 'features_dirty';

export interface FeatureRefresh {
  asOf: Date;
  persons: number;
  seconds: number;
  /** 'incremental': only `recomputed` people were computed from their events, the others carried over. */
  mode: 'full' | 'incremental';
  recomputed: number;
  /** The earlier refresh an incremental one started from. */
  since?: Date;
}

/**
 * Materialise every person's features as of T into `features` (replacing an earlier refresh at the same T). Older
 * as-of rows stay: they are the history that backtests and propensity training read.
 *
 * When an earlier refresh at or before T exists with the same configuration, and no event was deleted since, only the
 * people whose features can have changed are computed from their events (see `dirtyPersonsSql`); everyone else's
 * row is carried over with recency and the decayed scores moved to T. `full: true` recomputes everyone.
 */
export async function refreshFeatures(
  wh: Warehouse,
  cfg: ModelConfig,
  options: { asOf?: Date; full?: boolean } = {},
): Promise<FeatureRefresh> {
  const asOf = options.asOf ?? new Date();
  const started = performance.now();
  const configHash = createHash('sha256')
    .update(JSON.stringify({ version: FEATURE_SQL_VERSION, cfg }))
    .digest('hex');
  const result = await wh.transaction(async (tx) => {
    const [seen] = await tx.query<{ events: bigint; batch: bigint | null }>(
      `SELECT (SELECT count(*) FROM events) AS events,
              (SELECT max(CAST(value AS BIGINT)) FROM segflow_meta WHERE key = 'ingest_batch') AS batch`,
    );
    const events = Number(seen!.events);
    const batch = Number(seen!.batch ?? 0);
    const since = options.full ? undefined : await startingPoint(tx, { asOf, configHash, events });
    let recomputed: number | undefined;
    const relation = await eventsRelation(tx);
    const kinds = await loadEventKinds(tx);
    if (since) {
      const p = new Params();
      await tx.storage.createScratch({
        name: DIRTY,
        select: dirtyPersonsSql(cfg, p, { since: since.asOf, asOf, batch: since.batch }, relation),
        params: p.values,
      });
      const [n] = await tx.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${DIRTY}`);
      recomputed = Number(n!.n);
      for (const staged of dirtyStagingSql(cfg, asOf, kinds)) await tx.storage.createScratch(staged);
    }
    const p = new Params();
    const sql = featureSql(wh.dialect, cfg, p, asOf, {
      since: since?.asOf,
      events: relation,
      kinds,
    });
    const persons = await tx.storage.replaceSnapshot({
      table: 'features',
      columns: FEATURES.columns.map((c) => c.name),
      at: { as_of: asOf },
      select: sql,
      params: p.values,
      // Carried rows come from the rows about to be replaced: compute them all before deleting.
      readsOwnRows: since !== undefined && since.asOf.getTime() === asOf.getTime(),
    });
    if (since) for (const t of [DIRTY, ...DIRTY_STAGED]) await tx.storage.dropScratch(t);
    const refresh: Omit<FeatureRefresh, 'seconds'> = {
      asOf,
      persons,
      mode: since ? 'incremental' : 'full',
      recomputed: recomputed ?? persons,
      ...(since ? { since: since.asOf } : {}),
    };
    const logColumns = FEATURE_REFRESHES.columns.map((c) => c.name);
    await tx.run('DELETE FROM feature_refreshes WHERE as_of = ?', [asOf]);
    await tx.run(
      `INSERT INTO feature_refreshes (${logColumns.join(', ')}) VALUES (${logColumns.map(() => '?').join(', ')})`,
      [asOf, batch, events, configHash, refresh.mode, persons, refresh.recomputed, new Date()],
    );
    await refreshAccounts(tx, cfg, asOf, kinds);
    return refresh;
  });
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

/**
 * The latest refresh at or before `asOf` made with the same configuration, if its rows and every event it saw are still
 * there: the events now are exactly those it counted plus those stored in later ingest batches.
 */
async function startingPoint(
  tx: Warehouse,
  at: { asOf: Date; configHash: string; events: number },
): Promise<{ asOf: Date; batch: number } | undefined> {
  const [prev] = await tx.query<{
    as_of: Date;
    ingest_batch: bigint;
    events: bigint;
    persons: bigint;
    rows: bigint;
  }>(
    `SELECT r.as_of, r.ingest_batch, r.events, r.persons, (SELECT count(*) FROM features f WHERE f.as_of = r.as_of) AS rows
     FROM feature_refreshes r WHERE r.as_of <= ? AND r.config_hash = ? ORDER BY r.as_of DESC LIMIT 1`,
    [at.asOf, at.configHash],
  );
  // Its rows must all still be there (nobody deleted features by hand).
  if (!prev || prev.rows !== prev.persons) return undefined;
  const [added] = await tx.query<{ n: bigint }>('SELECT count(*) AS n FROM events WHERE ingest_batch > ?', [
    prev.ingest_batch,
  ]);
  if (Number(prev.events) + Number(added!.n) !== at.events) return undefined;
  return { asOf: prev.as_of, batch: Number(prev.ingest_batch) };
}

/** Accounts exist only where group calls were sent (B2B): their roll-up is recomputed whole, and skipped otherwise. */
async function refreshAccounts(
  tx: Warehouse,
  cfg: ModelConfig,
  asOf: Date,
  kinds: EventKinds,
): Promise<void> {
  const [accounts] = await tx.query<{ n: number }>('SELECT count(*) AS n FROM account_members');
  if (!Number(accounts?.n)) return;
  const ap = new Params();
  const accountSql = accountFeatureSql(tx.dialect, cfg, ap, asOf, kinds);
  await tx.storage.replaceSnapshot({
    table: 'account_features',
    columns: ACCOUNT_FEATURES.columns.map((c) => c.name),
    at: { as_of: asOf },
    select: accountSql,
    params: ap.values,
  });
}

/** One person's features (by any identifier) as of the latest refresh at or before `asOf` (default: the latest). */
export async function personFeatures(
  wh: Warehouse,
  identifier: string,
  options: { asOf?: Date } = {},
): Promise<Record<string, unknown> | undefined> {
  const rows = await wh.query<Record<string, unknown>>(
    `SELECT f.* FROM features f
     WHERE f.person_id = (SELECT person_id FROM identities WHERE identifier = ?)
       AND f.as_of <= ? ORDER BY f.as_of DESC LIMIT 1`,
    [identifier, options.asOf ?? new Date('9999-12-31T00:00:00Z')],
  );
  return rows[0];
}
