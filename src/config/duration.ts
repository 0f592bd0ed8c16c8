import { z } from 'zod';

/** Durations in definitions and config: `30m`, `12h`, `7d`, `2w` (months vary in length, so they are not durations). */
const DURATION = /^(\d+)(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export const Duration = z
  .string()
  .regex(DURATION, 'a duration like 30m, 12h, 7d or 2w (minutes, hours, days, weeks)')
  .describe('a duration: 30m, 12h, 7d, 2w');

export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
