import type { SegmentMessage } from '../../instrument/segment-spec.js';
import { createRng } from '../../shared/seeded-random.js';

/**
 * A panel of people with known churn behaviour, to check propensity models against an oracle.
 *
 * Each person has latent daily rates — app opens λ ~ Gamma(1.5, 0.25), support tickets μ ~ Gamma(2, 0.05) and
 * purchases ρ = 0.15·λ — and a churn probability per period p = σ(−1.2 − 1.2·ln(λ/0.375) + 0.9·ln(μ/0.1)): engaged
 * people stay, people who keep filing tickets leave. People join at a uniform day of the first period. While alive
 * they emit Poisson numbers of each event every day; right after each period boundary (day 30k) an alive person
 * stops for good with probability p.
 *
 * The oracle for the snapshot at a boundary T and the label "no activity in (T, T + period]" is, for a person alive
 * at T, p + (1 − p)·exp(−period·(λ + μ + ρ)): the truth the generator knows and the data shows only indirectly.
 */
export interface ChurnPanel {
  messages: SegmentMessage[];
  /** Per person: latent rates and churn probability, and the day (from start) they stopped, or null. */
  people: {
    userId: string;
    lambda: number;
    mu: number;
    rho: number;
    p: number;
    stoppedAfterDay: number | null;
  }[];
  start: Date;
  periodDays: number;
  /** The oracle probability of "no activity in the period after snapshot T" for people alive at T. */
  oracle(person: ChurnPanel['people'][number]): number;
}

const DAY = 86_400_000;

export function simulateChurnPanel(args: {
  people: number;
  periods: number;
  seed?: number;
  start?: Date;
  periodDays?: number;
}): ChurnPanel {
  const start = args.start ?? new Date('2026-01-01T00:00:00Z');
  const periodDays = args.periodDays ?? 30;
  const rng = createRng(args.seed ?? 1, 0, 0x636875);
  const messages: SegmentMessage[] = [];
  const people: ChurnPanel['people'] = [];
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  let k = 0;
  for (let i = 0; i < args.people; i++) {
    const userId = `u${String(i).padStart(5, '0')}`;
    const lambda = rng.gamma(1.5, 0.25);
    const mu = rng.gamma(2, 0.05);
    const rho = 0.15 * lambda;
    const p = sigmoid(-1.2 - 1.2 * Math.log(lambda / 0.375) + 0.9 * Math.log(mu / 0.1));
    const joined = rng.int(0, periodDays);
    let stoppedAfterDay: number | null = null;
    const lastDay = args.periods * periodDays;
    const emit = (event: string, day: number, properties: Record<string, unknown>) => {
      const ts = new Date(start.getTime() + day * DAY + rng.int(0, DAY));
      messages.push({
        type: 'track',
        event,
        userId,
        properties,
        timestamp: ts.toISOString(),
        messageId: `churn-${++k}`,
      } as SegmentMessage);
    };
    for (let day = joined; day < lastDay; day++) {
      if (day > 0 && day % periodDays === 0 && rng.chance(p)) {
        stoppedAfterDay = day;
        break;
      }
      for (let n = rng.poisson(lambda); n > 0; n--) emit('Application Opened', day, {});
      for (let n = rng.poisson(mu); n > 0; n--) emit('Ticket Created', day, { ticket_id: `t${k}` });
      for (let n = rng.poisson(rho); n > 0; n--)
        emit('Order Completed', day, { revenue: 20 + rng.int(0, 80) });
    }
    people.push({ userId, lambda, mu, rho, p, stoppedAfterDay });
  }
  messages.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)));
  return {
    messages,
    people,
    start,
    periodDays,
    oracle: (x) => x.p + (1 - x.p) * Math.exp(-periodDays * (x.lambda + x.mu + x.rho)),
  };
}
