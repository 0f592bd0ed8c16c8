import { Params } from '../engine/params.js';
import { ACCOUNT_FEATURES, FEATURES } from '../engine/schema.js';
import type { Warehouse } from '../engine/warehouse.js';
import { accountFeatureSql, featureSql } from './feature-sql.js';
import type { ModelConfig } from './model-config.js';

/**
 * Materialise every person's features as of T into `features` (replacing an earlier refresh at the same T). Older
 * as-of rows stay: they are the history that backtests and propensity training read.
 */
export async function refreshFeatures(
  wh: Warehouse,
  cfg: ModelConfig,
  options: { asOf?: Date } = {},
): Promise<{ asOf: Date; persons: number; seconds: number }> {
  const asOf = options.asOf ?? new Date();
  const started = performance.now();
  const p = new Params();
  const sql = featureSql(wh.dialect, cfg, p, asOf);
  const columns = FEATURES.columns.map((c) => c.name).join(', ');
  const persons = await wh.transaction(async (tx) => {
    await tx.run('DELETE FROM features WHERE as_of = ?', [asOf]);
    const n = await tx.run(`INSERT INTO features (${columns}) SELECT ${columns} FROM (${sql})`, p.values);
    // Accounts exist only where group calls were sent (B2B); skip the roll-up otherwise.
    const [accounts] = await tx.query<{ n: number }>('SELECT count(*) AS n FROM account_members');
    if (!Number(accounts?.n)) return n;
    const ap = new Params();
    const accountSql = accountFeatureSql(wh.dialect, cfg, ap, asOf);
    const accountColumns = ACCOUNT_FEATURES.columns.map((c) => c.name).join(', ');
    await tx.run('DELETE FROM account_features WHERE as_of = ?', [asOf]);
    await tx.run(
      `INSERT INTO account_features (${accountColumns}) SELECT ${accountColumns} FROM (${accountSql})`,
      ap.values,
    );
    return n;
  });
  return { asOf, persons, seconds: (performance.now() - started) / 1000 };
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
