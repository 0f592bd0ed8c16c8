import { createHash } from 'node:crypto';
import { z } from 'zod';
import { durationMs } from '../config/duration.js';
import type { SqlValue, Warehouse } from '../engine/warehouse.js';
import { assignArm, HOLDOUT_ARM } from '../shared/arm-assignment.js';
import { Timestamp } from '../shared/timestamp.js';
import { createDestination } from './destinations/create-destination.js';
import type { Destination } from './destinations/destination.js';
import { consentBlock, consentRelied, GuardReads } from './guards.js';
import { DrainSummarySchema, OutboxDrain } from './outbox.js';
import { type Play, type Playbook, purposeOf } from './playbook.js';
import { type Occurrence, pendingOccurrences, saveCursor } from './triggers.js';

/**
 * `segflow activate run`: turn what happened since the last run into deliveries, then send what is due.
 *
 * For each play with a destination, the trigger's occurrences (segment enters or exits from the change log, or
 * schedule ticks) are decided one by one: the re-entry policy, then eligibility (consent for the play's purpose at
 * decision time — so both arms hold eligible people only), then the arm by the GrowthBook hash of (play, person).
 * The holdout arm gets an exposure and a `withheld` row; the treatment arm an exposure and a `pending` row that the
 * outbox sends. Each play's decisions and its trigger cursor commit together, so a crash replays them and the
 * idempotency keys make the replay a no-op.
 */
export const ActivationSummarySchema = z
  .object({
    asOf: Timestamp,
    plays: z.array(
      z.object({
        play: z.string(),
        occurrences: z.number(),
        queued: z.number(),
        withheld: z.number(),
        blocked: z.number(),
        skipped: z.number(),
        started: z
          .object({
            currentMembers: z.number().describe("people in the play's segment when it first ran"),
            included: z
              .boolean()
              .describe('whether they were decided about now (includeCurrent) or counted as history'),
          })
          .optional()
          .describe("present on a play's first run"),
      }),
    ),
    outbox: DrainSummarySchema,
  })
  .meta({ id: 'ActivationSummary' });
export type ActivationSummary = z.output<typeof ActivationSummarySchema>;

/** The statuses that mean "this person got the play" for re-entry purposes. */
const DECIDED = ['pending', 'deferred', 'sent', 'withheld', 'dead'];

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/**
 * Record the playbook's plays; a changed definition bumps its version. The recorded hashes are read first and only
 * new or changed plays are written: every streaming evaluation records its playbook, and an upsert is one of the
 * dearer statements of an evaluation at a million people (~10 ms each under the realtime benchmark's load).
 */
export async function upsertPlays(wh: Warehouse, pb: Playbook, asOf: Date): Promise<void> {
  if (pb.plays.length === 0) return;
  const recorded = new Map(
    (
      await wh.query<{ name: string; definition_hash: string }>('SELECT name, definition_hash FROM plays')
    ).map((r) => [r.name, r.definition_hash]),
  );
  for (const play of pb.plays) {
    const hash = hashOf(play);
    if (recorded.get(play.name) === hash) continue;
    await wh.storage.upsert({
      table: 'plays',
      columns: ['name', 'version', 'definition', 'definition_hash', 'updated_at'],
      key: ['name'],
      from: { rows: [[play.name, 1, JSON.stringify(play), hash, asOf]] },
      update: (r) => ({
        version: `${r.current('version')} + 1`,
        definition: r.incoming('definition'),
        definition_hash: r.incoming('definition_hash'),
        updated_at: r.incoming('updated_at'),
      }),
      when: (r) => `${r.current('definition_hash')} <> ${r.incoming('definition_hash')}`,
    });
  }
}

export function destinationsOf(pb: Playbook): Map<string, Destination> {
  return new Map(Object.entries(pb.destinations).map(([name, cfg]) => [name, createDestination(name, cfg)]));
}

type Pending = Awaited<ReturnType<typeof pendingOccurrences>>;

async function decidePlay(
  wh: Warehouse,
  pb: Playbook,
  play: Play,
  asOf: Date,
  includeCurrent: boolean,
  { occurrences, cursor, cursorStored, started }: Pending,
  reads: GuardReads,
): Promise<ActivationSummary['plays'][number]> {
  const counts = {
    play: play.name,
    occurrences: occurrences.length,
    queued: 0,
    withheld: 0,
    blocked: 0,
    skipped: 0,
    ...(started
      ? {
          started: {
            currentMembers: started.currentMembers,
            included: includeCurrent && play.trigger.on === 'enter',
          },
        }
      : {}),
  };
  if (occurrences.length === 0) {
    if (!cursorStored) await saveCursor(wh, play.name, cursor);
    return counts;
  }
  const persons = [...new Set(occurrences.map((o) => o.personId))];
  const consent = await reads.consentOf(wh, persons);
  const suppressed = await reads.suppressed(wh);
  // What each person already got from this play (for the re-entry policy), updated as this run decides.
  const history = new Map<string, Date[]>();
  const earlier = await wh.query<{ person_id: string; occurred_at: Date }>(
    `SELECT person_id, occurred_at FROM deliveries WHERE play = ? AND status IN (${DECIDED.map(() => '?').join(', ')})
       AND ${wh.dialect.inTextList('person_id', '?')}`,
    [play.name, ...DECIDED, JSON.stringify(persons)],
  );
  for (const r of earlier) {
    const list = history.get(r.person_id) ?? [];
    list.push(r.occurred_at);
    history.set(r.person_id, list);
  }
  const reEntryBlock = (o: Occurrence): string | null => {
    const got = history.get(o.personId) ?? [];
    const policy = play.re_entry;
    if (policy === 'every_time' || got.length === 0) return null;
    if (policy === 'once') return 're-entry: once, and this person already got the play';
    const window = durationMs(policy.at_most_once_per);
    const recent = got.some((t) => t.getTime() > o.occurredAt.getTime() - window);
    return recent ? `re-entry: at most once per ${policy.at_most_once_per}` : null;
  };
  const plan = {
    seed: play.name,
    holdoutShare: play.holdout,
    ...(play.variants ? { variants: play.variants.map((v) => ({ name: v.name, weight: v.weight })) } : {}),
  };
  const rows: SqlValue[][] = [];
  const exposures: SqlValue[][] = [];
  for (const o of occurrences) {
    const key = `${play.name}:${o.personId}:${o.key}`;
    const base = [
      key,
      play.name,
      o.personId,
      o.trigger,
      o.occurredAt,
      play.channel,
      play.destination ?? null,
    ];
    const skip = reEntryBlock(o);
    if (skip) {
      rows.push([...base, null, 'skipped', skip, 0, null, asOf, null]);
      counts.skipped++;
      continue;
    }
    const notAllowed = suppressed(o.personId) ?? consentBlock(pb, consent.get(o.personId), purposeOf(play));
    // The consent this decision relied on; the send records the one in force when it goes out.
    const relied = consentRelied(pb, consent.get(o.personId), purposeOf(play));
    if (notAllowed) {
      rows.push([...base, null, 'blocked', notAllowed, 0, null, asOf, relied]);
      counts.blocked++;
      continue;
    }
    const { arm } = assignArm(plan, o.personId);
    const holdout = arm === HOLDOUT_ARM;
    const variant = holdout ? null : play.variants ? arm : null;
    rows.push([
      ...base,
      variant,
      holdout ? 'withheld' : 'pending',
      holdout ? 'holdout' : null,
      0,
      holdout ? null : o.occurredAt.getTime() > asOf.getTime() ? o.occurredAt : asOf,
      asOf,
      relied,
    ]);
    exposures.push([play.name, o.personId, holdout ? HOLDOUT_ARM : 'treatment', variant, o.occurredAt, key]);
    const list = history.get(o.personId) ?? [];
    list.push(o.occurredAt);
    history.set(o.personId, list);
    if (holdout) counts.withheld++;
    else counts.queued++;
  }
  await wh.transaction(async (tx) => {
    const [top] = await tx.query<{ id: number | null }>('SELECT max(id) AS id FROM deliveries');
    const first = Number(top?.id ?? 0) + 1;
    // Staged with the appender and inserted in one statement each: a refresh where 50,000 people enter a segment is
    // two statements, not 100,000. Skipping rows whose key is stored keeps a replay (after a crash) from adding anything.
    await stageAndInsert(
      tx,
      'deliveries',
      [
        ['id', 'double'],
        ['idempotency_key', 'text'],
        ['play', 'text'],
        ['person_id', 'text'],
        ['trigger', 'text'],
        ['occurred_at', 'timestamp'],
        ['channel', 'text'],
        ['destination', 'text'],
        ['variant', 'text'],
        ['status', 'text'],
        ['reason', 'text'],
        ['attempts', 'double'],
        ['next_attempt_at', 'timestamp'],
        ['created_at', 'timestamp'],
        ['consent', 'text'],
      ],
      rows.map((r, i) => [first + i, ...r]),
      { id: 'bigint', attempts: 'integer' },
    );
    await stageAndInsert(
      tx,
      'exposures',
      [
        ['play', 'text'],
        ['person_id', 'text'],
        ['arm', 'text'],
        ['variant', 'text'],
        ['exposed_at', 'timestamp'],
        ['idempotency_key', 'text'],
      ],
      exposures,
    );
    await saveCursor(tx, play.name, cursor);
  });
  return counts;
}

async function stageAndInsert(
  tx: Warehouse,
  table: string,
  columns: [name: string, type: 'text' | 'double' | 'timestamp'][],
  rows: SqlValue[][],
  casts: Record<string, 'bigint' | 'integer'> = {},
): Promise<void> {
  if (rows.length === 0) return;
  const d = tx.dialect;
  const stage = `_sf_new_${table}`;
  const select = columns.map(([n]) =>
    casts[n] ? `CAST(${d.quoteIdent(n)} AS ${d.columnType(casts[n]!)})` : d.quoteIdent(n),
  );
  await tx.storage.withScratch({ name: stage, columns, rows }, () =>
    tx.storage.upsert({
      table,
      columns: columns.map(([n]) => n),
      key: ['idempotency_key'],
      from: { select: `SELECT ${select.join(', ')} FROM ${stage}` },
    }),
  );
}

export async function runActivation(
  wh: Warehouse,
  pb: Playbook,
  options: {
    asOf?: Date;
    destinations?: ReadonlyMap<string, Destination>;
    /** A new `enter` play's first run decides about everyone in its segment now, instead of counting them as history. */
    includeCurrent?: boolean;
  } = {},
): Promise<ActivationSummary> {
  const asOf = options.asOf ?? new Date();
  const owned = options.destinations ? null : destinationsOf(pb);
  try {
    // The decisions and the drain's plan run back to back (exclusive), not each statement behind a load of the
    // collector's intake log; the sends hold nothing, and each destination's outcome is written after its sends.
    const { plays, drain } = await wh.exclusive((db) =>
      prepareActivation(db, pb, { ...options, asOf, destinations: options.destinations ?? owned! }),
    );
    for (const name of drain.destinationNames()) {
      await drain.send(name);
      await wh.exclusive((db) => drain.record(db));
    }
    return { asOf, plays, outbox: drain.summary };
  } finally {
    if (owned) for (const d of owned.values()) await d.close();
  }
}

/**
 * The part of an activation run that reads and writes the warehouse before any send: each play's decisions, then
 * the outbox drain's plan. Run it holding the warehouse (`exclusive`); then `drain.send()` (holding nothing) and
 * `drain.record(db)` (holding it again) finish the run — the stream does the last together with its next step.
 *
 * @example
 * const { plays, drain } = await wh.exclusive((db) => prepareActivation(db, pb, { asOf, destinations }));
 * await drain.send();
 * await wh.exclusive((db) => drain.record(db));
 */
export async function prepareActivation(
  db: Warehouse,
  pb: Playbook,
  options: {
    asOf: Date;
    destinations: ReadonlyMap<string, Destination>;
    includeCurrent?: boolean;
  },
): Promise<{ plays: ActivationSummary['plays']; drain: OutboxDrain }> {
  const { asOf } = options;
  const includeCurrent = options.includeCurrent === true;
  // Plays without a destination are served by decide() alone.
  const withDestination = pb.plays.filter((p) => p.destination);
  const reads = new GuardReads(asOf);
  await upsertPlays(db, pb, asOf);
  // Every play's occurrences first, so the consent of everyone they concern is one read (GuardReads), shared with
  // the drain, which sends to mostly the same people.
  const pending: Pending[] = [];
  for (const play of withDestination)
    pending.push(await pendingOccurrences(db, pb, play, asOf, { includeCurrent }));
  await reads.consentOf(
    db,
    pending.flatMap((p) => p.occurrences.map((o) => o.personId)),
  );
  const plays: ActivationSummary['plays'] = [];
  for (const [i, play] of withDestination.entries()) {
    plays.push(await decidePlay(db, pb, play, asOf, includeCurrent, pending[i]!, reads));
  }
  const drain = new OutboxDrain(pb, options.destinations, asOf, reads);
  await drain.plan(db);
  return { plays, drain };
}
