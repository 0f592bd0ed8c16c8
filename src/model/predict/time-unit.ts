import { SegflowError } from '../../errors.js';

/**
 * The unit every time in a predictive model is measured in: t_x, T, the horizon of a forecast, and the rate
 * parameter α of BG/NBD (α is a time, so its value changes with the unit: α in days ≈ 7 × α in weeks). A fitted model
 * carries its unit, and every function that takes a duration takes it with its unit, so that mixing days, weeks and
 * months — the classic error — cannot happen silently.
 *
 * A month is the average Gregorian month, 365.25 / 12 = 30.4375 days.
 */
export const TIME_UNITS = ['hours', 'days', 'weeks', 'months'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

/** A length of time with its unit, e.g. `{ value: 39, unit: 'weeks' }`. */
export interface Duration {
  value: number;
  unit: TimeUnit;
}

export function daysPerUnit(unit: TimeUnit): number {
  switch (unit) {
    case 'hours':
      return 1 / 24;
    case 'days':
      return 1;
    case 'weeks':
      return 7;
    case 'months':
      return 365.25 / 12;
    default: {
      const never: never = unit;
      throw new Error(`unknown time unit ${String(never)}`);
    }
  }
}

export function secondsPerUnit(unit: TimeUnit): number {
  return daysPerUnit(unit) * 86_400;
}

/** A duration expressed in another unit. */
export function inUnit(duration: Duration, unit: TimeUnit): number {
  return (duration.value * daysPerUnit(duration.unit)) / daysPerUnit(unit);
}

export function parseTimeUnit(text: string): TimeUnit {
  const found = TIME_UNITS.find((u) => u === text || u === `${text}s`);
  if (!found) {
    throw new SegflowError(
      'USAGE',
      `unknown time unit '${text}'`,
      `use one of ${TIME_UNITS.join(', ')} (the unit t_x, T and the forecast horizon are measured in)`,
    );
  }
  return found;
}

/** "12 months", "39 weeks": a duration as people write it. */
export function parseDuration(text: string): Duration {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  if (!m) {
    throw new SegflowError(
      'USAGE',
      `cannot read the duration '${text}'`,
      `write a number and a unit, e.g. "39 weeks" or "12 months" (units: ${TIME_UNITS.join(', ')})`,
    );
  }
  return { value: Number(m[1]), unit: parseTimeUnit(m[2]!.toLowerCase()) };
}

export function formatDuration(d: Duration): string {
  return `${d.value} ${d.value === 1 ? d.unit.slice(0, -1) : d.unit}`;
}
