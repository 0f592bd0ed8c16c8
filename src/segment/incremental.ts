import { Params } from '../engine/params.js';
import type { SqlValue, Warehouse } from '../engine/warehouse.js';
import { withMergedIdsSql } from '../instrument/persons-on-events.js';
import type { TimeDependence } from './compile.js';
import { edgeEventTest } from './time-edges.js';

/**
 * Incremental segment refresh: which people's memberships can have changed since an earlier refresh.
 *
 * Between a refresh as of T0 and one as of T, a person's membership can change only if
 * - one of their events was stored since (a later ingest batch: new events, late events, identity merges, group calls);
 * - one of their events crosses a time edge of some condition: its time lies in (T0 − W, T − W] for a W the compiler
 *   recorded (every window, period boundary, abandonment wait, lookback, and W = 0 for events newly at or before T),
 *   and it is one of the events that edge concerns (`segment/time-edges.ts`);
 * - a trait value compared as a date with a window ending at T crosses that window's edges;
 * - a feature or model score a condition reads changed between the snapshots T0 and T see (for a relation its keeper
 *   changes in place, the people it lists: `LiveRelations`);
 * - with account conditions: any of the above holds for another member of one of their accounts.
 * Everyone else keeps their memberships. The people to re-evaluate are those, plus every person id merged into them
 * (`person_merges`: a person merged into another since keeps open memberships under the old id, which must close).
 */
export interface IncrementalStart {
  refreshId: number;
  asOf: Date;
  batch: number;
  /** Aliases of the joined relations whose snapshot at T differs from the one at T0. */
  changedRelations: string[];
}

/**
 * What a refresh records for a relation kept current in place by its caller (the stream's live features snapshot),
 * instead of a fingerprint: its rows at the refresh's as-of time are whatever the relation holds now, so it is not
 * compared with itself; the people whose rows the caller changed are in the caller's table (`LiveRelations`).
 */
export const LIVE = 'live';

/**
 * Relations a caller keeps current in place: their aliases, and a table (person_id) of the people whose rows changed
 * since the last evaluation. Fingerprinting them would read every row on every evaluation.
 */
export interface LiveRelations {
  aliases: readonly string[];
  changed: string;
}

/**
 * One fingerprint per joined relation as of `asOf` (over the columns the segments read): JSON for the log. Live
 * relations are recorded as `LIVE`, not read.
 */
export async function relationFingerprints(
  wh: Warehouse,
  dependence: TimeDependence,
  asOf: Date,
  live?: LiveRelations,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const r of dependence.relations) {
    if (!r.columns.length) continue;
    if (live?.aliases.includes(r.alias)) {
      out[r.alias] = LIVE;
      continue;
    }
    const p = new Params();
    const [row] = await wh.query<{ fp: string | null }>(
      `SELECT ${wh.dialect.rowsFingerprint(['r.person_id', ...r.columns.map((c) => `r.${c}`)])} AS fp FROM (${r.sql(p, asOf)}) r`,
      p.values,
    );
    out[r.alias] = row?.fp ?? 'empty';
  }
  return out;
}

/**
 * The refresh to start from: the latest one, when it is at or before T, evaluated the same definitions with the same
 * compiler, no event it saw has been deleted since (retention, privacy), and the feature and score snapshots it read
 * are still what it read. Otherwise undefined: evaluate everyone.
 */
export async function incrementalStart(
  tx: Warehouse,
  at: {
    asOf: Date;
    signature: string;
    events: number;
    dependence: TimeDependence;
    fingerprints: Record<string, string>;
    live?: LiveRelations;
  },
): Promise<IncrementalStart | undefined> {
  const [prev] = await tx.query<{
    refresh_id: bigint;
    as_of: Date;
    ingest_batch: bigint;
    events: bigint;
    signature: string;
    relations: string;
    latest: bigint | null;
  }>(
    `SELECT e.*, (SELECT max(refresh_id) FROM segment_refreshes) AS latest
     FROM segment_evaluations e ORDER BY e.refresh_id DESC LIMIT 1`,
  );
  if (!prev || prev.signature !== at.signature || Number(prev.latest) !== Number(prev.refresh_id))
    return undefined;
  if (prev.as_of.getTime() > at.asOf.getTime()) return undefined;
  const [added] = await tx.query<{ n: bigint }>('SELECT count(*) AS n FROM events WHERE ingest_batch > ?', [
    prev.ingest_batch,
  ]);
  if (Number(prev.events) + Number(added!.n) !== at.events) return undefined;
  const seen = JSON.parse(prev.relations) as Record<string, string>;
  const then = await relationFingerprints(tx, at.dependence, prev.as_of, at.live);
  // A relation read live (then or now) is not compared with itself: its keeper lists the people it changed since
  // (`at.live`), or a comparison with the relation as of T finds them (a cycle after streaming).
  const live = (alias: string) => seen[alias] === LIVE || then[alias] === LIVE;
  if (Object.entries(then).some(([alias, fp]) => !live(alias) && seen[alias] !== fp)) return undefined;
  return {
    refreshId: Number(prev.refresh_id),
    asOf: prev.as_of,
    batch: Number(prev.ingest_batch),
    changedRelations: Object.keys(then).filter(
      (alias) => then[alias] !== LIVE && then[alias] !== at.fingerprints[alias],
    ),
  };
}

/**
 * The people (and every person id merged into them) whose memberships can have changed between `start.asOf` and
 * `asOf`, in statements run in this order: `changed`, the people whose events, time edges or relations changed (to be
 * stored as `names.changed`); with account conditions `accounts`, every (group, person) pair of `account_persons` (to
 * be stored as `names.accounts`); then the `scope` read from them; with account conditions also the `context`: those
 * people and every member of their accounts, whose events an evaluation of them must read (a person in two accounts
 * whose peer in the first changed is evaluated with the second's members too).
 */
export function scopeSql(
  wh: Warehouse,
  dependence: TimeDependence,
  start: IncrementalStart,
  asOf: Date,
  live: LiveRelations | undefined,
  names: { changed: string; accounts: string },
): { changed: { sql: string; params: SqlValue[] }; accounts?: string; scope: string; context?: string } {
  const d = wh.dialect;
  const p = new Params();
  const T0 = start.asOf.getTime();
  const T = asOf.getTime();
  const crossed = (expr: string, ms: number) =>
    `(${expr} > ${p.add(new Date(T0 - ms))} AND ${expr} <= ${p.add(new Date(T - ms))})`;
  const eventTests = [
    `ev.ingest_batch > ${p.add(start.batch)}`,
    ...dependence.edges.map((edge) => {
      const events = edgeEventTest(edge, 'ev', p);
      return events === 'TRUE' ? crossed('ev.ts', edge.ms) : `(${crossed('ev.ts', edge.ms)} AND ${events})`;
    }),
    ...dependence.traitWindows.map(({ path, ms }) => {
      const at = d.parseTimestamp(d.jsonText('ev.traits', p.add(path)));
      return `(ev.type = 'identify' AND (${crossed(at, ms)} OR ${crossed(at, 0)}))`;
    }),
  ];
  // One select per test, not one scan with ORs: each range then reaches the scan as a filter of its own, so the
  // engine skips the row groups whose min/max rule it out (events are stored in batch order and, within a batch, in
  // time order), where an OR of ranges reads every row's time.
  const parts = eventTests.map((test) => `SELECT ev.person_id FROM person_events ev WHERE ${test}`);
  if (live) parts.push(`SELECT person_id FROM ${live.changed}`);
  for (const r of dependence.relations.filter((x) => start.changedRelations.includes(x.alias))) {
    const same = r.columns.map((c) => `n.${c} IS NOT DISTINCT FROM o.${c}`).join(' AND ');
    const cols = r.columns.map((c) => `r.${c}`).join(', ');
    parts.push(
      `SELECT coalesce(n.person_id, o.person_id) AS person_id
       FROM (SELECT r.person_id, ${cols} FROM (${r.sql(p, asOf)}) r) n
       FULL JOIN (SELECT r.person_id, ${cols} FROM (${r.sql(p, start.asOf)}) r) o ON o.person_id = n.person_id
       WHERE n.person_id IS NULL OR o.person_id IS NULL OR NOT (${same})`,
    );
  }
  // The account pairs are stored once too: `account_persons` is a view (members joined with the identities), and the
  // scope and context statements read it six times — each a join of every identity on ClickHouse (2.2 s of the
  // context statement at 200,000 people, 30 ms from the stored pairs).
  const peersOf = (relation: string) => `SELECT person_id FROM ${relation} UNION
         SELECT am.person_id FROM ${names.accounts} ap JOIN ${names.accounts} am ON am.group_id = ap.group_id
         WHERE ap.person_id IN (SELECT person_id FROM ${relation})`;
  // The changed people are stored first (`changed`, read by both statements below): as a CTE, ClickHouse evaluated
  // every scan of it once per reference — eight times in the context statement with account conditions.
  const people = dependence.accounts
    ? `WITH people AS (${peersOf(names.changed)})`
    : `WITH people AS (SELECT person_id FROM ${names.changed})`;
  // With every id merged into them (their open memberships under the old id exit): a small table, not the identities.
  return {
    changed: { sql: parts.join('\nUNION '), params: p.values },
    // `account_persons` itself, with the identities read narrowed to the members' identifiers (implied by the join):
    // ClickHouse builds the join's table from the right side, otherwise every identity (7 ms against 113 ms at
    // 200,000 people with no accounts).
    ...(dependence.accounts
      ? {
          accounts: `SELECT DISTINCT m.group_id AS group_id, i.person_id AS person_id
            FROM account_members m JOIN identities i ON i.identifier = m.identifier
            WHERE i.identifier IN (SELECT identifier FROM account_members)`,
        }
      : {}),
    scope: `${people}\n      ${withMergedIdsSql('people')}`,
    ...(dependence.accounts
      ? { context: `${people}, context AS (${peersOf('people')})\n      ${withMergedIdsSql('context')}` }
      : {}),
  };
}
