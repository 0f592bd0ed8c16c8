import { durationMs } from '../config/duration.js';
import type { Condition, SegmentDefinition } from './definition.js';

/**
 * What a condition needs of a person's events: `ms`, how far back from T it reads them (null: any time, or it reads
 * something besides the events whose absence could make it true), and `falseWithout`, whether it is certainly false
 * for a person with no events in that span.
 */
interface EventNeed {
  ms: number | null;
  falseWithout: boolean;
}

const UNBOUNDED: EventNeed = { ms: null, falseWithout: false };

/** A window of the last `within` that a person must have done something in. */
function recent(within: string | undefined): EventNeed {
  return within === undefined ? UNBOUNDED : { ms: durationMs(within), falseWithout: true };
}

function needOf(c: Condition): EventNeed {
  if ('and' in c || 'or' in c) {
    const parts = ('and' in c ? c.and : c.or).map(needOf);
    if (parts.some((p) => p.ms === null)) return UNBOUNDED;
    return {
      ms: Math.max(...parts.map((p) => p.ms!)),
      // One false part makes an `and` false; an `or` is false when every part is.
      falseWithout: 'and' in c ? parts.some((p) => p.falseWithout) : parts.every((p) => p.falseWithout),
    };
  }
  if ('not' in c) return { ms: needOf(c.not).ms, falseWithout: false };
  if ('performed' in c || 'notPerformed' in c) {
    const p = 'performed' in c ? c.performed : { ...c.notPerformed, exactly: 0 };
    // A count that must reach at least 1: no event in the window, no match. (atMost, exactly 0, atLeast 0 hold then.)
    const positive =
      p.exactly !== undefined ? p.exactly >= 1 : p.atMost === undefined && (p.atLeast ?? 1) >= 1;
    return { ms: p.within === undefined ? null : durationMs(p.within), falseWithout: positive };
  }
  if ('lastPerformed' in c) {
    const l = c.lastPerformed;
    return l.before === undefined ? recent(l.within) : UNBOUNDED;
  }
  if ('sequence' in c) return recent(c.sequence.lookback);
  if ('didRegularly' in c) {
    const r = c.didRegularly;
    return { ms: durationMs(r.period) * r.periods, falseWithout: true };
  }
  // firstPerformed, startedDoing, stoppedDoing and restarted (they read before their window), traits, features,
  // buckets, other segments and accounts: everything is read.
  return UNBOUNDED;
}

/**
 * How far back from the as-of time the events must be read to evaluate `definitions` exactly, or null when all of
 * them must be. Non-null only when every definition reads events within a bounded window and is false for a person
 * with no event in it: such a person then needs no row at all — an evaluation leaves them out, which is what being in
 * none of the segments means to the memberships (a scoped refresh exits people it evaluated and did not return).
 * Reading only the recent events is what makes real-time segments cheap: the engine skips every older row group.
 *
 * @example
 * eventLookbackMs([{ name: 'buyers', where: { performed: { event: 'Order Completed', within: '1h' } } }]); // 3_600_000
 * eventLookbackMs([{ name: 'lapsed', where: { notPerformed: { event: 'Order Completed', within: '30d' } } }]); // null
 */
export function eventLookbackMs(definitions: readonly Pick<SegmentDefinition, 'where'>[]): number | null {
  let ms = 0;
  for (const d of definitions) {
    const need = needOf(d.where);
    if (need.ms === null || !need.falseWithout) return null;
    ms = Math.max(ms, need.ms);
  }
  return definitions.length ? ms : null;
}
