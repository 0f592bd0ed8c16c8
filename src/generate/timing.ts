import type { Rng } from '../shared/seeded-random.js';

/**
 * When simulated people are active: a weekly cycle and a time-of-day shape per profile, a calendar that turns them
 * into a cumulative "activity mass" over the window, and samplers that place events in a person's active window with
 * a density proportional to that calendar (times optional per-day factors such as a promotion calendar or a decay
 * towards churn).
 *
 * Placing points this way is exact for an inhomogeneous Poisson process: draw the count N ~ Poisson(expected) and put
 * the N points independently with density proportional to the intensity. So a person's expected number of purchases
 * is set by one number (rate × active days), whatever the shape — which is what makes the ground truth testable.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const MINUTE_MS = 60_000;

/** Relative activity by UTC weekday (index 0 = Sunday, as `Date#getUTCDay`) and by UTC hour of day. */
export interface WeeklyShape {
  weekday: readonly number[];
  hour: readonly number[];
}

function normalized(values: readonly number[]): number[] {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return values.map((v) => v / mean);
}

/** Shapes are normalized to mean 1, so a rate "per day" means per average day. */
function shape(weekday: readonly number[], hour: readonly number[]): WeeklyShape {
  if (weekday.length !== 7 || hour.length !== 24)
    throw new RangeError('a weekly shape needs 7 weekdays and 24 hours');
  return { weekday: normalized(weekday), hour: normalized(hour) };
}

/** Shoppers: weekends a bit heavier, evenings the peak, nights quiet. */
// biome-ignore format: tables read best aligned by hour
export const ECOMMERCE_SHAPE: WeeklyShape = shape(
  // Sun   Mon   Tue   Wed   Thu   Fri   Sat
  [1.3, 0.95, 0.9, 0.9, 0.95, 1.05, 1.35],
  // 00   01   02    03    04    05    06   07   08   09   10   11
  [0.5, 0.3, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.1, 1.2, 1.3,
    // 12 13   14   15   16   17   18   19   20   21   22   23
    1.4, 1.3, 1.25, 1.25, 1.3, 1.4, 1.6, 1.85, 1.9, 1.7, 1.3, 0.8],
);

/** Work software: weekdays, office hours. */
// biome-ignore format: tables read best aligned by hour
export const SAAS_SHAPE: WeeklyShape = shape(
  [0.2, 1.0, 1.05, 1.05, 1.0, 0.85, 0.2],
  [0.08, 0.05, 0.04, 0.04, 0.05, 0.08, 0.2, 0.5, 1.2, 1.8, 2.0, 1.9,
    1.5, 1.8, 1.9, 1.8, 1.6, 1.2, 0.7, 0.45, 0.35, 0.25, 0.15, 0.1],
);

/**
 * The simulated window [startMs, endMs) cut into hour slots, each weighted weekday × hour-of-day, with the cumulative
 * weight so that "activity mass" and time convert both ways in O(log slots). Built once per generation run.
 */
export class Calendar {
  readonly startMs: number;
  readonly endMs: number;
  readonly days: number;
  private readonly weight: Float64Array;
  /** cumulative[i] = total weight of slots before slot i; length slots + 1. */
  private readonly cumulative: Float64Array;

  constructor(startMs: number, days: number, weekly: WeeklyShape) {
    this.startMs = startMs;
    this.days = days;
    this.endMs = startMs + days * DAY_MS;
    const slots = days * 24;
    this.weight = new Float64Array(slots);
    this.cumulative = new Float64Array(slots + 1);
    let total = 0;
    for (let i = 0; i < slots; i++) {
      const at = new Date(startMs + i * HOUR_MS);
      const w = weekly.weekday[at.getUTCDay()]! * weekly.hour[at.getUTCHours()]!;
      this.weight[i] = w;
      total += w;
      this.cumulative[i + 1] = total;
    }
  }

  /** Index of the simulated day holding `t` (day 0 starts at `startMs`). */
  dayOf(t: number): number {
    return Math.floor((t - this.startMs) / DAY_MS);
  }

  dayStart(day: number): number {
    return this.startMs + day * DAY_MS;
  }

  /** Activity mass from the window start to `t`. */
  massAt(t: number): number {
    const slots = this.weight.length;
    const x = (t - this.startMs) / HOUR_MS;
    if (x <= 0) return 0;
    if (x >= slots) return this.cumulative[slots]!;
    const i = Math.floor(x);
    return this.cumulative[i]! + this.weight[i]! * (x - i);
  }

  /** Inverse of `massAt`. */
  timeAt(mass: number): number {
    const slots = this.weight.length;
    if (mass <= 0) return this.startMs;
    if (mass >= this.cumulative[slots]!) return this.endMs;
    // Largest i with cumulative[i] <= mass.
    let lo = 0;
    let hi = slots - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.cumulative[mid]! <= mass) lo = mid;
      else hi = mid - 1;
    }
    return this.startMs + (lo + (mass - this.cumulative[lo]!) / this.weight[lo]!) * HOUR_MS;
  }
}

/**
 * A density over [fromMs, toMs) proportional to the calendar weight times an optional factor per simulated day.
 * `sample` returns whole milliseconds inside the interval.
 */
export class WindowDensity {
  readonly fromMs: number;
  readonly toMs: number;
  private readonly calendar: Calendar;
  private readonly mass0: number;
  private readonly mass1: number;
  /** Only with a day factor: the first day, each day's factor and the cumulative factor-weighted mass. */
  private readonly firstDay: number;
  private readonly factors: Float64Array | null;
  private readonly dayCumulative: Float64Array | null;

  constructor(calendar: Calendar, fromMs: number, toMs: number, dayFactor?: (day: number) => number) {
    this.calendar = calendar;
    this.fromMs = fromMs;
    this.toMs = toMs;
    this.mass0 = calendar.massAt(fromMs);
    this.mass1 = calendar.massAt(toMs);
    this.firstDay = calendar.dayOf(fromMs);
    if (dayFactor === undefined || toMs <= fromMs) {
      this.factors = null;
      this.dayCumulative = null;
      return;
    }
    const lastDay = calendar.dayOf(toMs - 1);
    const n = lastDay - this.firstDay + 1;
    const factors = new Float64Array(n);
    const dayCumulative = new Float64Array(n + 1);
    let total = 0;
    for (let k = 0; k < n; k++) {
      const day = this.firstDay + k;
      const lo = Math.max(fromMs, calendar.dayStart(day));
      const hi = Math.min(toMs, calendar.dayStart(day + 1));
      const f = Math.max(0, dayFactor(day));
      factors[k] = f;
      total += f * (calendar.massAt(hi) - calendar.massAt(lo));
      dayCumulative[k + 1] = total;
    }
    // A factor that is zero everywhere carries no shape: fall back to the calendar alone.
    this.factors = total > 0 ? factors : null;
    this.dayCumulative = total > 0 ? dayCumulative : null;
  }

  get empty(): boolean {
    return this.toMs <= this.fromMs;
  }

  sample(rng: Rng): number {
    if (this.empty) throw new RangeError('cannot sample an empty window');
    let t: number;
    if (this.factors === null || this.dayCumulative === null) {
      t = this.calendar.timeAt(this.mass0 + rng.float() * (this.mass1 - this.mass0));
    } else {
      const n = this.factors.length;
      const u = rng.float() * this.dayCumulative[n]!;
      // Day k with dayCumulative[k] <= u < dayCumulative[k + 1]; days of zero mass are never chosen.
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (this.dayCumulative[mid]! <= u) lo = mid;
        else hi = mid - 1;
      }
      const dayLo = Math.max(this.fromMs, this.calendar.dayStart(this.firstDay + lo));
      t = this.calendar.timeAt(
        this.calendar.massAt(dayLo) + (u - this.dayCumulative[lo]!) / this.factors[lo]!,
      );
    }
    const ms = Math.floor(t);
    return ms < this.fromMs ? this.fromMs : ms >= this.toMs ? this.toMs - 1 : ms;
  }
}

/**
 * The promotion calendar (ecommerce): a sale of `lengthDays` every `periodDays`, the first starting on day
 * `firstDay` of the window. Deterministic, so every person sees the same sales.
 */
export const PROMO_CALENDAR = { periodDays: 30, lengthDays: 5, firstDay: 10 } as const;

const PROMO_NAMES = [
  'Winter Sale',
  'Spring Deals',
  'Flash Weekend',
  'Members Week',
  'Clearance',
  'Summer Sale',
];

/** The promotion running on simulated day `day`, or null. */
export function promotionOn(
  day: number,
): { id: string; name: string; coupon: string; discount: number } | null {
  const { periodDays, lengthDays, firstDay } = PROMO_CALENDAR;
  if (day < firstDay) return null;
  const offset = (day - firstDay) % periodDays;
  if (offset >= lengthDays) return null;
  const n = Math.floor((day - firstDay) / periodDays);
  return {
    id: `promo_${n + 1}`,
    name: PROMO_NAMES[n % PROMO_NAMES.length]!,
    coupon: `SALE${15 + 5 * (n % 3)}`,
    discount: (15 + 5 * (n % 3)) / 100,
  };
}

export function isPromotionDay(day: number): boolean {
  return promotionOn(day) !== null;
}

/** A pause between two consecutive actions of one session: exponential around `meanSeconds`, at least one second. */
export function actionGapMs(rng: Rng, meanSeconds: number): number {
  return 1000 + Math.floor(rng.exponential(1 / (meanSeconds * 1000)));
}

/** A delay (opening an email, resolving a ticket) with median `medianHours`, log-normally spread. */
export function delayMs(rng: Rng, medianHours: number, sigma: number): number {
  return Math.floor(rng.lognormal(Math.log(medianHours * HOUR_MS), sigma));
}
