import { z } from 'zod';
import { SegflowError } from '../errors.js';
import { chiSquareQuantile, chiSquareSurvival } from './distributions.js';

/**
 * Sample-ratio mismatch: do the arms hold the shares of people the assignment promised? A chi-square goodness-of-fit
 * test of the observed counts against the planned weights (as GrowthBook's `check_srm`). A mismatch means
 * assignment or exposure logging is broken (e.g. the treatment loses people whose message bounced), and then no lift
 * read from those arms can be trusted, however significant.
 */

/** The conventional SRM threshold: strict, because the check runs on every read of every play. */
export const SRM_THRESHOLD = 0.001;

export const SrmResultSchema = z
  .object({
    counts: z.array(z.number()),
    expectedShares: z.array(z.number()).describe('planned shares, normalised to sum to 1'),
    observedShares: z.array(z.number()),
    expectedCounts: z.array(z.number()),
    chiSquare: z.number().describe('Σ (observed − expected)² / expected'),
    degreesOfFreedom: z.number(),
    pValue: z.number(),
    threshold: z.number(),
    criticalValue: z.number().describe('the chi-square value at which the check would flag'),
    flagged: z.boolean().describe('pValue < threshold: the split is not what was planned'),
  })
  .meta({ id: 'SrmResult' });
export type SrmResult = z.output<typeof SrmResultSchema>;

function invalid(message: string, hint: string): SegflowError {
  return new SegflowError('STATS_INPUT_INVALID', message, hint);
}

/** Chi-square test of arm counts against planned weights (equal weights when none are given). */
export function sampleRatioMismatch(args: {
  counts: readonly number[];
  /** Planned relative weights, any positive scale (0.1, 0.9 or 10, 90); equal by default. */
  weights?: readonly number[];
  threshold?: number;
}): SrmResult {
  const counts = [...args.counts];
  if (counts.length < 2)
    throw invalid(
      `SRM needs the counts of at least two arms (got ${counts.length})`,
      'e.g. counts 1000,1100',
    );
  for (const c of counts)
    if (!Number.isInteger(c) || c < 0)
      throw invalid(
        `arm counts must be whole numbers ≥ 0 (got ${String(c)})`,
        'pass the number of people per arm',
      );
  const weights = args.weights ? [...args.weights] : counts.map(() => 1);
  if (weights.length !== counts.length)
    throw invalid(
      `${weights.length} weights for ${counts.length} arms`,
      'give one planned weight per arm, in the same order as the counts',
    );
  for (const w of weights)
    if (!(Number.isFinite(w) && w > 0))
      throw invalid(
        `planned weights must be positive numbers (got ${String(w)})`,
        'an arm planned to get nobody has nothing to check; leave it out of both lists',
      );
  const threshold = args.threshold ?? SRM_THRESHOLD;
  if (!(threshold > 0 && threshold < 1))
    throw invalid(
      `the SRM threshold must be between 0 and 1 (got ${threshold})`,
      'the usual threshold is 0.001',
    );
  const total = counts.reduce((s, c) => s + c, 0);
  if (total === 0)
    throw invalid('every arm is empty: there is no split to check', 'check again once people are assigned');

  const weightSum = weights.reduce((s, w) => s + w, 0);
  const expectedShares = weights.map((w) => w / weightSum);
  const expectedCounts = expectedShares.map((s) => s * total);
  let chiSquare = 0;
  counts.forEach((o, i) => {
    const e = expectedCounts[i]!;
    chiSquare += (o - e) ** 2 / e;
  });
  const df = counts.length - 1;
  const pValue = chiSquareSurvival(chiSquare, df);
  return {
    counts,
    expectedShares,
    observedShares: counts.map((c) => c / total),
    expectedCounts,
    chiSquare,
    degreesOfFreedom: df,
    pValue,
    threshold,
    criticalValue: chiSquareQuantile(1 - threshold, df),
    flagged: pValue < threshold,
  };
}
