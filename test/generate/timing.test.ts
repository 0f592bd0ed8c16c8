import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type GeneratorProfile, generateEvents } from '../../src/generate/index.js';
import {
  Calendar,
  DAY_MS,
  ECOMMERCE_SHAPE,
  HOUR_MS,
  SAAS_SHAPE,
  WindowDensity,
} from '../../src/generate/timing.js';
import { createRng } from '../../src/shared/seeded-random.js';

/**
 * The weekly and daily rhythm of device activity (server-side emails and billing keep their own schedules). Four
 * whole weeks, so each weekday occurs equally often.
 */
function rhythm(profile: GeneratorProfile, people: number, start?: string) {
  const byWeekday = new Array<number>(7).fill(0);
  const byHour = new Array<number>(24).fill(0);
  for (const unit of generateEvents({ people, days: 28, seed: 77, profile, start })) {
    for (const ev of unit.events) {
      if (ev.context?.channel === 'server') continue;
      const at = new Date(ev.timestamp);
      byWeekday[at.getUTCDay()]!++;
      byHour[at.getUTCHours()]!++;
    }
  }
  const avg = (xs: number[], idx: number[]) => idx.reduce((s, i) => s + xs[i]!, 0) / idx.length;
  return {
    weekend: avg(byWeekday, [0, 6]),
    weekday: avg(byWeekday, [1, 2, 3, 4, 5]),
    hours: (from: number, to: number) =>
      avg(
        byHour,
        Array.from({ length: to - from }, (_, i) => from + i),
      ),
  };
}

describe('timing', () => {
  it('ecommerce: weekends a bit heavier, evenings busy, nights quiet', () => {
    const r = rhythm('ecommerce', 1500);
    const ratio = r.weekend / r.weekday;
    assert.ok(ratio > 1.1 && ratio < 1.8, `weekend/weekday ${ratio}`);
    assert.ok(r.hours(18, 22) > 4 * r.hours(2, 6), 'evenings vs nights');
    assert.ok(r.hours(10, 17) > 2 * r.hours(2, 6), 'daytime vs nights');
  });

  it('saas: weekdays and office hours', () => {
    const r = rhythm('saas', 1500);
    assert.ok(r.weekday > 3 * r.weekend, `weekday/weekend ${r.weekday / r.weekend}`);
    assert.ok(r.hours(9, 17) > 8 * r.hours(0, 6), 'office hours vs night');
  });

  it('keeps every message inside [start, start + days) for any start', () => {
    const start = '2025-06-02T09:30:00.000Z';
    const from = Date.parse(start);
    for (const profile of ['ecommerce', 'saas'] as const) {
      for (const unit of generateEvents({ people: 200, days: 10, seed: 3, profile, start })) {
        for (const ev of unit.events) {
          const t = Date.parse(ev.timestamp);
          assert.ok(t >= from && t < from + 10 * DAY_MS, ev.timestamp);
        }
      }
    }
  });

  it('samples a window in proportion to calendar weight times day factor', () => {
    const start = Date.parse('2026-01-05T00:00:00Z'); // a Monday
    const calendar = new Calendar(start, 14, SAAS_SHAPE);
    const rng = createRng(1, 0);
    // Days 0-6 weigh 1, days 7-13 weigh 3: the second week should get ~3x the samples.
    const density = new WindowDensity(calendar, start + 6 * HOUR_MS, start + 14 * DAY_MS - 1, (d) =>
      d < 7 ? 1 : 3,
    );
    let firstWeek = 0;
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const t = density.sample(rng);
      assert.ok(t >= density.fromMs && t < density.toMs && Number.isInteger(t));
      if (t < start + 7 * DAY_MS) firstWeek++;
    }
    const ratio = (n - firstWeek) / firstWeek;
    assert.ok(Math.abs(ratio - 3) < 0.2, `second/first week ${ratio}`);
    // Mass and time convert both ways.
    for (const t of [start, start + 1234567, start + 13 * DAY_MS + 5]) {
      assert.ok(Math.abs(calendar.timeAt(calendar.massAt(t)) - t) < 1e-3);
    }
  });

  it('normalizes the shapes to a mean of 1', () => {
    for (const shape of [ECOMMERCE_SHAPE, SAAS_SHAPE]) {
      assert.ok(Math.abs(shape.weekday.reduce((s, x) => s + x, 0) / 7 - 1) < 1e-12);
      assert.ok(Math.abs(shape.hour.reduce((s, x) => s + x, 0) / 24 - 1) < 1e-12);
    }
  });
});
