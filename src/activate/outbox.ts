import { createHash } from 'node:crypto';
import { z } from 'zod';
import { durationMs } from '../config/duration.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { Timestamp } from '../shared/timestamp.js';
import type { DeliveryMessage, DeliveryResult, Destination } from './destinations/destination.js';
import { consentBlock, consentRelied, GuardReads, loadSendLog, quietUntil } from './guards.js';
import { type Playbook, purposeOf } from './playbook.js';

/**
 * The outbox. Deliveries are rows, so nothing is lost across restarts: a due row is checked by the guards at send
 * time (consent may have been withdrawn since the decision, a cap may have filled, quiet hours may hold), sent
 * through its destination, and only then marked sent — a crash in between re-sends it with the same idempotency key,
 * which receivers dedupe (at-least-once delivery, effectively once). Failures retry with exponential backoff and
 * full jitter until the playbook's max attempts; then the row is dead, listed and replayable.
 */
export const DELIVERY_STATUSES = [
  'pending',
  'deferred',
  'sent',
  'withheld',
  'blocked',
  'skipped',
  'dead',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A row of `deliveries`, as listDeliveries returns it and the admin API prints it. */
export const DeliveryRowSchema = z
  .object({
    id: z.number(),
    idempotency_key: z.string(),
    play: z.string(),
    person_id: z.string(),
    trigger: z.enum(['enter', 'exit', 'schedule']),
    occurred_at: Timestamp,
    channel: z.string(),
    destination: z.string().nullable(),
    variant: z.string().nullable(),
    status: z.enum(DELIVERY_STATUSES),
    reason: z.string().nullable(),
    attempts: z.number(),
    next_attempt_at: Timestamp.nullable(),
    last_error: z.string().nullable(),
    created_at: Timestamp,
    sent_at: Timestamp.nullable(),
    consent: z
      .string()
      .nullable()
      .describe(
        'the consent the delivery relied on (JSON: purpose, granted, answeredAt, or the default that applied)',
      ),
  })
  .meta({ id: 'Delivery' });
export type DeliveryRow = z.output<typeof DeliveryRowSchema>;

export const DrainSummarySchema = z.object({
  sent: z.number(),
  blocked: z.number(),
  deferred: z.number(),
  retried: z.number(),
  dead: z.number(),
});
export type DrainSummary = z.output<typeof DrainSummarySchema>;

/** Delay before attempt n+1 after n failures: full jitter over min(max, base·2^(n−1)), seeded by the key. */
export function backoffMs(pb: Playbook, key: string, failures: number): number {
  const cap = Math.min(durationMs(pb.retry.max_delay), durationMs(pb.retry.base) * 2 ** (failures - 1));
  const u = createHash('sha256').update(`${key}#${failures}`).digest().readUInt32BE(0) / 2 ** 32;
  return Math.max(1000, Math.round(cap * u));
}

/**
 * One drain of the outbox in three steps, so that a caller holds the warehouse for the first and the last only:
 * `plan` reads what is due and decides each row through the guards (rows that are not sent are written at once),
 * `send` hands the batches to their destinations (no warehouse), `record` writes what the sends did. Row changes are
 * gathered and written in one statement per write (a drain of 50,000 rows is not 50,000 UPDATEs).
 *
 * @example
 * const drain = new OutboxDrain(pb, destinations, asOf);
 * await wh.exclusive((db) => drain.plan(db));
 * for (const name of drain.destinationNames()) await drain.send(name);
 * await wh.exclusive((db) => drain.record(db));
 */
export class OutboxDrain {
  readonly summary: DrainSummary = { sent: 0, blocked: 0, deferred: 0, retried: 0, dead: 0 };
  private readonly pending = new Map<number, DeliveryRow>();
  private batches: Batches = new Map();

  constructor(
    private readonly pb: Playbook,
    private readonly destinations: ReadonlyMap<string, Destination>,
    private readonly asOf: Date,
    /** Consent and suppressions already read in this run (activation's decisions): only the others are read. */
    private readonly reads: GuardReads = new GuardReads(asOf),
  ) {}

  /** Read what is due and decide each row; the rows not to be sent are written now. */
  async plan(db: Warehouse): Promise<void> {
    this.batches = await planDrain(
      db,
      this.pb,
      this.destinations,
      this.asOf,
      this.reads,
      this.summary,
      (row, set) => this.update(row, set),
      (w) => this.record(w),
    );
  }

  /** The destinations with messages to send, after `plan`. */
  destinationNames(): string[] {
    return [...this.batches.keys()];
  }

  /** Send one destination's batch (or every batch) and note the outcome of each message, to be written by `record`. */
  async send(name?: string): Promise<void> {
    const pb = this.pb;
    for (const [dest, list] of this.batches) {
      if (name !== undefined && dest !== name) continue;
      let results: DeliveryResult[];
      try {
        results = await this.destinations.get(dest)!.send(list.map((x) => x.message));
      } catch (e) {
        results = list.map(() => ({ ok: false, retryable: true, error: (e as Error).message }));
      }
      for (const [i, { row }] of list.entries()) {
        const r = results[i] ?? { ok: false, retryable: true, error: 'no result from the destination' };
        const attempts = Number(row.attempts) + 1;
        if (r.ok) {
          this.update(row, { status: 'sent', sent_at: this.asOf, attempts, reason: null, last_error: null });
          this.summary.sent++;
        } else if (!r.retryable || attempts >= pb.retry.max_attempts) {
          this.update(row, {
            status: 'dead',
            attempts,
            last_error: r.error,
            reason: r.retryable ? `gave up after ${attempts} attempts` : 'the destination refused it',
          });
          this.summary.dead++;
        } else {
          const delay = Math.max(backoffMs(pb, row.idempotency_key, attempts), r.retryAfterMs ?? 0);
          this.update(row, {
            status: 'pending',
            attempts,
            last_error: r.error,
            reason: `retry ${attempts + 1} of ${pb.retry.max_attempts}`,
            next_attempt_at: new Date(this.asOf.getTime() + delay),
          });
          this.summary.retried++;
        }
      }
    }
  }

  /** Write the row changes noted so far. */
  async record(db: Warehouse): Promise<void> {
    if (this.pending.size === 0) return;
    const d = db.dialect;
    const cols: [string, 'text' | 'double' | 'timestamp'][] = [
      ['id', 'double'],
      ['status', 'text'],
      ['reason', 'text'],
      ['attempts', 'double'],
      ['next_attempt_at', 'timestamp'],
      ['last_error', 'text'],
      ['sent_at', 'timestamp'],
      ['consent', 'text'],
    ];
    await db.storage.createScratch({
      name: '_sf_delivery_updates',
      columns: cols,
      rows: [...this.pending.values()].map((r) => [
        Number(r.id),
        r.status,
        r.reason,
        Number(r.attempts),
        r.next_attempt_at,
        r.last_error,
        r.sent_at,
        r.consent,
      ]),
    });
    const updated = ['status', 'reason', 'attempts', 'next_attempt_at', 'last_error', 'sent_at', 'consent'];
    await db.storage.updateFrom({
      table: 'deliveries',
      from: {
        select: `SELECT CAST(id AS ${d.columnType('bigint')}) AS id, status, reason,
            CAST(attempts AS ${d.columnType('integer')}) AS attempts, next_attempt_at, last_error, sent_at, consent
          FROM _sf_delivery_updates`,
      },
      match: { id: 'id' },
      set: Object.fromEntries(updated.map((c) => [c, c])),
    });
    await db.storage.dropScratch('_sf_delivery_updates');
    this.pending.clear();
  }

  private update(row: DeliveryRow, set: Partial<DeliveryRow>): void {
    this.pending.set(Number(row.id), { ...(this.pending.get(Number(row.id)) ?? row), ...set });
  }
}

type Batches = Map<string, { row: DeliveryRow; message: DeliveryMessage }[]>;

/**
 * The drain's part before the sends: the due rows, the guards' reads, each row blocked, deferred or batched for its
 * destination; the rows that are not sent are flushed. Returns the batches to send.
 */
async function planDrain(
  wh: Warehouse,
  pb: Playbook,
  destinations: ReadonlyMap<string, Destination>,
  asOf: Date,
  reads: GuardReads,
  summary: DrainSummary,
  update: (row: DeliveryRow, set: Partial<DeliveryRow>) => void,
  flush: (db: Warehouse) => Promise<void>,
): Promise<Batches> {
  const batches: Batches = new Map();
  const due = await wh.query<DeliveryRow & Record<string, unknown>>(
    `SELECT * FROM deliveries WHERE status IN ('pending', 'deferred') AND next_attempt_at <= ?
     ORDER BY next_attempt_at, id`,
    [asOf],
  );
  if (!due.length) return batches;
  const persons = [...new Set(due.map((d) => d.person_id))];
  const consent = await reads.consentOf(wh, persons);
  const traits = await reads.traitsOf(wh, persons);
  const sendLog = await loadSendLog(wh, pb, persons, asOf);
  const plays = new Map(pb.plays.map((p) => [p.name, p]));
  const suppressed = await reads.suppressed(wh);
  for (const row of due) {
    const play = plays.get(row.play);
    if (!play) {
      update(row, { status: 'blocked', reason: 'the play is no longer in the playbook' });
      summary.blocked++;
      continue;
    }
    const consentReason =
      suppressed(row.person_id) ?? consentBlock(pb, consent.get(row.person_id), purposeOf(play));
    // The consent in force at this attempt is what the send relies on: recorded on the row whatever happens next.
    row.consent = consentRelied(pb, consent.get(row.person_id), purposeOf(play));
    if (consentReason) {
      update(row, { status: 'blocked', reason: consentReason });
      summary.blocked++;
      continue;
    }
    const capReason = sendLog.capBlock(pb, row.person_id, row.channel, asOf);
    if (capReason) {
      update(row, { status: 'blocked', reason: capReason });
      summary.blocked++;
      continue;
    }
    const personTraits = traits.get(row.person_id) ?? {};
    const until = quietUntil(pb, personTraits, asOf);
    if (until) {
      update(row, {
        status: 'deferred',
        reason: `quiet hours until ${until.toISOString()}`,
        next_attempt_at: until,
      });
      summary.deferred++;
      continue;
    }
    const destination = row.destination ?? '';
    if (!destinations.has(destination)) {
      update(row, {
        status: 'dead',
        reason: `no destination '${destination}'`,
        last_error: 'not configured',
      });
      summary.dead++;
      continue;
    }
    // Counted now, so later rows of this drain see it: a cap is never exceeded even when sends fail and retry.
    sendLog.add(row.person_id, row.channel, asOf);
    const variant = play.variants?.find((v) => v.name === row.variant);
    const message: DeliveryMessage = {
      idempotencyKey: row.idempotency_key,
      play: play.name,
      segment: play.segment,
      personId: row.person_id,
      trigger: row.trigger,
      occurredAt: row.occurred_at,
      traits: personTraits,
      content: {
        ...play.content,
        ...(variant?.content ?? {}),
        offer: play.offer,
        variant: row.variant ?? 'treatment',
      },
    };
    let list = batches.get(destination);
    if (!list) {
      list = [];
      batches.set(destination, list);
    }
    list.push({ row, message });
  }
  await flush(wh);
  return batches;
}

/** Deliveries, newest first, optionally by status or play. */
export async function listDeliveries(
  wh: Warehouse,
  o: { status?: DeliveryStatus; play?: string; personId?: string; limit?: number } = {},
): Promise<DeliveryRow[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (o.status) {
    where.push('status = ?');
    params.push(o.status);
  }
  if (o.play) {
    where.push('play = ?');
    params.push(o.play);
  }
  if (o.personId) {
    where.push('person_id = ?');
    params.push(o.personId);
  }
  return wh.query<DeliveryRow & Record<string, unknown>>(
    `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    [...params, o.limit ?? 100],
  );
}

/** Put dead deliveries back in the queue (attempts reset), due at `asOf`; by id, or every dead one. */
export async function retryDeliveries(
  wh: Warehouse,
  o: { id?: number; allDead?: boolean; asOf?: Date },
): Promise<number> {
  const asOf = o.asOf ?? new Date();
  if (o.id === undefined && !o.allDead) {
    throw new SegflowError('USAGE', 'say which deliveries to retry', 'give a delivery id, or --all-dead');
  }
  if (o.id !== undefined) {
    const [row] = await wh.query<{ status: string }>('SELECT status FROM deliveries WHERE id = ?', [o.id]);
    if (!row)
      throw new SegflowError('NOT_FOUND', `no delivery ${o.id}`, 'list them with `segflow deliveries list`');
    if (row.status !== 'dead') {
      throw new SegflowError(
        'USAGE',
        `delivery ${o.id} is ${row.status}, not dead`,
        'only dead deliveries are retried by hand; the others retry on their own',
      );
    }
  }
  return wh.run(
    `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, reason = 'retried by hand'
     WHERE status = 'dead' ${o.id !== undefined ? 'AND id = ?' : ''}`,
    o.id !== undefined ? [asOf, o.id] : [asOf],
  );
}
