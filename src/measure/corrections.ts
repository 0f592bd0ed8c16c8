import { SegflowError } from '../errors.js';
import { DEFAULT_ALPHA, requireAlpha } from './inference.js';

/**
 * Corrections for reading several KPIs or segments at once: with 20 independent reads at α = 0.05, one "significant"
 * result is expected by chance alone. Both methods return adjusted p-values (compare them with α directly) in the
 * order the p-values were given.
 *
 * - Holm (1979), step-down: controls the family-wise error rate (the chance of even one false positive), uniformly
 *   more powerful than Bonferroni. Sorted ascending, p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1)·p₍ⱼ₎).
 * - Benjamini & Hochberg (1995), step-up: controls the false discovery rate (the expected share of false positives
 *   among the results called significant), more powerful when many KPIs are read.
 *   Sorted ascending, p̃₍ᵢ₎ = min_{j ≥ i} min(1, m·p₍ⱼ₎ / j).
 */

export const CORRECTION_METHODS = ['holm', 'benjamini-hochberg'] as const;
export type CorrectionMethod = (typeof CORRECTION_METHODS)[number];

export interface CorrectionResult {
  method: CorrectionMethod;
  alpha: number;
  pValues: number[];
  /** Adjusted p-values, same order as the input. */
  adjusted: number[];
  /** adjusted < alpha. */
  significant: boolean[];
}

function checkPValues(pValues: readonly number[]): void {
  if (pValues.length === 0)
    throw new SegflowError(
      'STATS_INPUT_INVALID',
      'no p-values to correct',
      'pass one p-value per KPI or segment',
    );
  for (const p of pValues)
    if (!(p >= 0 && p <= 1))
      throw new SegflowError(
        'STATS_INPUT_INVALID',
        `p-values must be between 0 and 1 (got ${String(p)})`,
        'pass the raw two-sided p-values of the individual tests',
      );
}

/** Indices of the p-values in ascending order (ties keep their input order). */
function ascending(pValues: readonly number[]): number[] {
  return pValues.map((_, i) => i).sort((a, b) => pValues[a]! - pValues[b]! || a - b);
}

export function holm(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const order = ascending(pValues);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[index]!));
    adjusted[index] = running;
  });
  return adjusted;
}

export function benjaminiHochberg(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const order = ascending(pValues);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const index = order[rank]!;
    running = Math.min(running, (m * pValues[index]!) / (rank + 1));
    adjusted[index] = running;
  }
  return adjusted;
}

export function correctPValues(args: {
  pValues: readonly number[];
  method: CorrectionMethod;
  alpha?: number;
}): CorrectionResult {
  const alpha = requireAlpha(args.alpha ?? DEFAULT_ALPHA);
  let adjusted: number[];
  switch (args.method) {
    case 'holm':
      adjusted = holm(args.pValues);
      break;
    case 'benjamini-hochberg':
      adjusted = benjaminiHochberg(args.pValues);
      break;
    default: {
      const never: never = args.method;
      throw new SegflowError(
        'STATS_INPUT_INVALID',
        `unknown correction '${String(never)}'`,
        `use one of ${CORRECTION_METHODS.join(', ')}`,
      );
    }
  }
  return {
    method: args.method,
    alpha,
    pValues: [...args.pValues],
    adjusted,
    significant: adjusted.map((p) => p < alpha),
  };
}
