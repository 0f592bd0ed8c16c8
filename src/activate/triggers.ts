import { Cron } from 'croner';
import type { Warehouse } from '../engine/warehouse.js';
import type { Play, Playbook } from './playbook.js';

/** One occurrence of a play's trigger for one person: what a delivery is keyed by. */
export interface Occurrence {
  play: string;
  personId: string;
  trigger: 'enter' | 'exit' | 'schedule';
  /** Unique per play and person: `enter:<seq>`, `exit:<seq>`, `schedule:<ISO tick>`, `enter:current` (--include-current). */
  key: string;
  occurredAt: Date;
}

interface Cursor {
  last_seq: number;
  last_tick: Date | null;
}

async function cursorOf(wh: Warehouse, play: string): Promise<Cursor | undefined> {
  const [row] = await wh.query<Cursor & Record<string, unknown>>(
    'SELECT last_seq, last_tick FROM activation_cursors WHERE play = ?',
    [play],
  );
  return row ? { last_seq: Number(row.last_seq), last_tick: row.last_tick } : undefined;
}

export async function saveCursor(wh: Warehouse, play: string, c: Cursor): Promise<void> {
  await wh.storage.upsert({
    table: 'activation_cursors',
    columns: ['play', 'last_seq', 'last_tick'],
    key: ['play'],
    from: { rows: [[play, c.last_seq, c.last_tick]] },
    update: ['last_seq', 'last_tick'],
  });
}

/** The ticks of a cron expression in (from, to], in the play's time zone. */
export function scheduleTicks(cron: string, timeZone: string, from: Date, to: Date): Date[] {
  const job = new Cron(cron, { timezone: timeZone, paused: true });
  const ticks: Date[] = [];
  let t = job.nextRun(from);
  while (t && t.getTime() <= to.getTime() && ticks.length < 10_000) {
    ticks.push(t);
    t = job.nextRun(t);
  }
  return ticks;
}

/**
 * The occurrences of one play's trigger since its cursor, up to `asOf`, and the cursor after them. A play seen for
 * the first time starts from now: segment changes and ticks before it are history, not triggers (a new play does
 * not message everyone who entered its segment months ago) — unless `includeCurrent`, when an `enter` play's first
 * run treats everyone in its segment now as having just entered. `started` says how many members a new play found.
 */
export async function pendingOccurrences(
  wh: Warehouse,
  pb: Playbook,
  play: Play,
  asOf: Date,
  options: { includeCurrent?: boolean } = {},
): Promise<{
  occurrences: Occurrence[];
  cursor: Cursor;
  /** The cursor is stored as it is: nothing to write (most streaming evaluations, for most plays). */
  cursorStored: boolean;
  started?: { currentMembers: number };
}> {
  const cursor = await cursorOf(wh, play.name);
  const trigger = play.trigger;
  if (trigger.on === 'schedule') {
    if (!cursor?.last_tick)
      return { occurrences: [], cursor: { last_seq: 0, last_tick: asOf }, cursorStored: false };
    const ticks = scheduleTicks(trigger.cron, trigger.timezone ?? pb.timezone, cursor.last_tick, asOf);
    const occurrences: Occurrence[] = [];
    for (const tick of ticks) {
      const members = await wh.query<{ person_id: string }>(
        `SELECT DISTINCT person_id FROM segment_memberships
         WHERE segment = ? AND entered_at <= ? AND (exited_at IS NULL OR exited_at > ?) ORDER BY person_id`,
        [play.segment, tick, tick],
      );
      for (const m of members) {
        occurrences.push({
          play: play.name,
          personId: m.person_id,
          trigger: 'schedule',
          key: `schedule:${tick.toISOString()}`,
          occurredAt: tick,
        });
      }
    }
    return {
      occurrences,
      cursor: { last_seq: 0, last_tick: ticks.length ? ticks[ticks.length - 1]! : cursor.last_tick },
      cursorStored: ticks.length === 0 && cursor.last_seq === 0,
    };
  }
  if (!cursor) {
    const [row] = await wh.query<{ seq: number | null }>(
      'SELECT max(seq) AS seq FROM segment_changes WHERE changed_at <= ?',
      [asOf],
    );
    const members = await wh.query<{ person_id: string }>(
      `SELECT DISTINCT person_id FROM segment_memberships
       WHERE segment = ? AND entered_at <= ? AND (exited_at IS NULL OR exited_at > ?) ORDER BY person_id`,
      [play.segment, asOf, asOf],
    );
    const include = options.includeCurrent === true && trigger.on === 'enter';
    return {
      occurrences: include
        ? members.map((m) => ({
            play: play.name,
            personId: m.person_id,
            trigger: 'enter' as const,
            key: 'enter:current',
            occurredAt: asOf,
          }))
        : [],
      cursor: { last_seq: Number(row?.seq ?? 0), last_tick: null },
      cursorStored: false,
      started: { currentMembers: members.length },
    };
  }
  const rows = await wh.query<{ seq: number; person_id: string; changed_at: Date }>(
    `SELECT seq, person_id, changed_at FROM segment_changes
     WHERE segment = ? AND change = ? AND seq > ? AND changed_at <= ? ORDER BY seq`,
    [play.segment, trigger.on, cursor.last_seq, asOf],
  );
  const [all] = await wh.query<{ seq: number | null }>(
    'SELECT max(seq) AS seq FROM segment_changes WHERE seq > ? AND changed_at <= ?',
    [cursor.last_seq, asOf],
  );
  const lastSeq = Math.max(cursor.last_seq, Number(all?.seq ?? 0));
  return {
    occurrences: rows.map((r) => ({
      play: play.name,
      personId: r.person_id,
      trigger: trigger.on,
      key: `${trigger.on}:${Number(r.seq)}`,
      occurredAt: r.changed_at,
    })),
    cursor: { last_seq: lastSeq, last_tick: null },
    cursorStored: lastSeq === cursor.last_seq && cursor.last_tick === null,
  };
}
