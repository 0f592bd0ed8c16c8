import { z } from 'zod';
import type { SqlValue, Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * Retention windows per event type (`retention:` in segflow.config.yaml): keys are track event names or message
 * types (page, screen, identify, …), values how long to keep them — `395d`, `56w`, `13mo`, `7y`; `default` applies to
 * everything no other key names. `segflow govern purge` (and `serve`, hourly) deletes what is older.
 */
const RETENTION = /^(\d+)(d|w|mo|y)$/;
const DAY = 86_400_000;

export const RetentionConfig = z.record(
  z.string().min(1),
  z.string().regex(RETENTION, 'a retention like 395d, 56w, 13mo or 7y (days, weeks, months, years)'),
);
export type RetentionConfig = z.infer<typeof RetentionConfig>;

export function retentionMs(text: string): number {
  const m = RETENTION.exec(text);
  if (!m)
    throw new SegflowError(
      'CONFIG_INVALID',
      `retention '${text}' is not a duration`,
      'use e.g. 395d, 13mo or 7y',
    );
  const n = Number(m[1]);
  switch (m[2]) {
    case 'd':
      return n * DAY;
    case 'w':
      return 7 * n * DAY;
    case 'mo':
      return Math.round(n * 30.436875 * DAY);
    default:
      return Math.round(n * 365.2425 * DAY);
  }
}

export function retentionConfig(section: unknown): RetentionConfig {
  const parsed = RetentionConfig.safeParse(section ?? {});
  if (!parsed.success) {
    throw new SegflowError(
      'CONFIG_INVALID',
      parsed.error.issues.map((i) => `retention.${i.path.join('.')}: ${i.message}`).join('\n'),
      'e.g. retention: { "Page Viewed": 13mo, "Order Completed": 7y, default: 2y }',
    );
  }
  return parsed.data;
}

export const PurgeResultSchema = z
  .object({
    asOf: Timestamp,
    dryRun: z.boolean(),
    rules: z.array(z.object({ key: z.string(), keep: z.string(), before: Timestamp, events: z.number() })),
  })
  .meta({ id: 'PurgeResult' });
export type PurgeResult = z.output<typeof PurgeResultSchema>;

const TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'];

export async function purgeExpired(
  wh: Warehouse,
  rules: RetentionConfig,
  options: { asOf?: Date; dryRun?: boolean } = {},
): Promise<PurgeResult> {
  const asOf = options.asOf ?? new Date();
  const named = Object.keys(rules).filter((k) => k !== 'default');
  const d = wh.dialect;
  const result: PurgeResult = { asOf, dryRun: Boolean(options.dryRun), rules: [] };
  const matchOf = (key: string) =>
    TYPES.includes(key)
      ? {
          sql: `type = ? AND NOT (type = 'track' AND ${d.inTextList('event', '?')})`,
          params: [key, JSON.stringify(named)],
        }
      : { sql: `type = 'track' AND event = ?`, params: [key] };
  await wh.transaction(async (tx) => {
    if (!options.dryRun) await tx.storage.createScratch({ name: PURGED, columns: [['identifier', 'text']] });
    for (const [key, keep] of Object.entries(rules)) {
      const before = new Date(asOf.getTime() - retentionMs(keep));
      const match =
        key === 'default'
          ? {
              sql: `NOT (${d.inTextList('type', '?')} OR (type = 'track' AND ${d.inTextList('event', '?')}))`,
              params: [JSON.stringify(named.filter((k) => TYPES.includes(k))), JSON.stringify(named)],
            }
          : matchOf(key);
      const where = `ts < ? AND ${match.sql}`;
      const params = [before, ...match.params];
      const events = options.dryRun
        ? Number(
            (await tx.query<{ n: number }>(`SELECT count(*) AS n FROM events WHERE ${where}`, params))[0]
              ?.n ?? 0,
          )
        : await purgeRule(tx, where, params);
      result.rules.push({ key, keep, before, events });
    }
    if (!options.dryRun) await recountActivity(tx);
  });
  return result;
}

const PURGED = 'purged_identifiers';

/** Delete one rule's events, noting whose they were. */
async function purgeRule(tx: Warehouse, where: string, params: readonly SqlValue[]): Promise<number> {
  await tx.run(
    `INSERT INTO ${PURGED} SELECT DISTINCT coalesce(user_id, anonymous_id) FROM events WHERE ${where}`,
    params,
  );
  return tx.run(`DELETE FROM events WHERE ${where}`, params);
}

/**
 * First/last seen and the event count of each identifier that lost events, counted again from the events left, so
 * `persons` (and the profile API) no longer show what was purged; an identifier with nothing left has no activity.
 */
async function recountActivity(tx: Warehouse): Promise<void> {
  const ids = `(SELECT DISTINCT identifier FROM ${PURGED})`;
  await tx.storage.createScratch({
    name: 'purged_activity',
    select: `SELECT coalesce(user_id, anonymous_id) AS identifier, min(ts) AS first_seen, max(ts) AS last_seen,
        count(*) AS events
      FROM events WHERE coalesce(user_id, anonymous_id) IN ${ids} GROUP BY 1`,
  });
  await tx.storage.updateFrom({
    table: 'identity_activity',
    from: { table: 'purged_activity' },
    match: { identifier: 'identifier' },
    set: { first_seen: 'first_seen', last_seen: 'last_seen', events: 'events' },
  });
  await tx.run(`DELETE FROM identity_activity
    WHERE identifier IN ${ids} AND identifier NOT IN (SELECT identifier FROM purged_activity)`);
  await tx.storage.dropScratch('purged_activity');
  await tx.storage.dropScratch(PURGED);
}
