import { SegflowError } from '../errors.js';

/**
 * Deterministic arm assignment: a person's arm in a play is a pure function of (seed, person id, arm plan), so it is
 * the same on every refresh, in every process and on every machine, and needs no stored lookup table.
 *
 * The hash is GrowthBook's version 2 (its SDKs' `hash(seed, value, 2)`), so a team can cross-check any assignment
 * with a GrowthBook SDK or its published test cases:
 *
 *     bucket = (fnv1a32(String(fnv1a32(seed + id))) mod 10000) / 10000        ∈ {0, 0.0001, …, 0.9999}
 *
 * where fnv1a32 is 32-bit FNV-1a (offset basis 2166136261, prime 16777619) over the string's UTF-16 code units
 * (JavaScript's `charCodeAt`), and String(…) is the decimal form of the unsigned 32-bit result. Hashing the first
 * hash's digits again removes the bias FNV-1a has on similar short inputs.
 *
 * Arms take consecutive ranges of [0, 1): the holdout first, [0, h), then each content variant its weight's share
 * of the rest. A person whose bucket falls in an arm's range [start, end) is in that arm. Consequences worth knowing:
 * shares are realised in steps of 0.01 % (the bucket's resolution); changing the holdout share moves the people at
 * the boundary between arms, so change the seed (which re-randomises everyone) rather than the shares of a running
 * play.
 */

export const HOLDOUT_ARM = 'holdout';
export const DEFAULT_TREATMENT_ARM = 'treatment';
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a over UTF-16 code units, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** GrowthBook's version-2 bucket of `id` under `seed`: a number in [0, 1) with four decimals. */
export function hashBucket(seed: string, id: string): number {
  return (fnv1a32(String(fnv1a32(seed + id))) % 10000) / 10000;
}

export interface VariantPlan {
  /** Arm name; must not be `holdout`. */
  name: string;
  /** Relative weight among the variants (any positive scale). */
  weight: number;
}

export interface ArmPlan {
  /** The hash seed, normally the play's key; a new seed re-randomises everyone. */
  seed: string;
  /** Share of people held out (not treated), 0 ≤ h < 1. */
  holdoutShare: number;
  /** Content variants sharing the treated people; one arm named `treatment` when omitted. */
  variants?: readonly VariantPlan[];
}

export interface ArmRange {
  arm: string;
  /** Planned share of people. */
  share: number;
  /** The arm holds the buckets in [start, end). */
  start: number;
  end: number;
}

function invalid(message: string, hint: string): SegflowError {
  return new SegflowError('ARMS_INVALID', message, hint);
}

/** The arms of a plan as consecutive ranges of [0, 1), holdout first. */
export function armRanges(plan: ArmPlan): ArmRange[] {
  if (typeof plan.seed !== 'string' || plan.seed.length === 0)
    throw invalid(
      'the assignment seed must be a non-empty string',
      "use the play's key, e.g. seed: 'winback-2026'",
    );
  const h = plan.holdoutShare;
  if (!(h >= 0 && h < 1))
    throw invalid(
      `the holdout share must be at least 0 and below 1 (got ${String(h)})`,
      'e.g. 0.1 holds out 10 % of eligible people; 0 holds out nobody (and then lift cannot be measured)',
    );
  const variants = plan.variants ?? [{ name: DEFAULT_TREATMENT_ARM, weight: 1 }];
  if (variants.length === 0)
    throw invalid('a play needs at least one variant', 'omit variants for one treatment arm');
  const names = new Set<string>();
  for (const v of variants) {
    if (typeof v.name !== 'string' || v.name.length === 0 || v.name === HOLDOUT_ARM)
      throw invalid(
        `variant names must be non-empty and not '${HOLDOUT_ARM}' (got '${String(v.name)}')`,
        `'${HOLDOUT_ARM}' is the arm of people not treated`,
      );
    if (names.has(v.name))
      throw invalid(`variant '${v.name}' is listed twice`, 'give each variant its own name');
    names.add(v.name);
    if (!(Number.isFinite(v.weight) && v.weight > 0))
      throw invalid(
        `variant '${v.name}' needs a positive weight (got ${String(v.weight)})`,
        'e.g. weight: 1',
      );
  }
  const total = variants.reduce((s, v) => s + v.weight, 0);
  const arms = [
    { arm: HOLDOUT_ARM, share: h },
    ...variants.map((v) => ({ arm: v.name, share: ((1 - h) * v.weight) / total })),
  ];
  const ranges: ArmRange[] = [];
  let cumulative = 0;
  for (const a of arms) {
    ranges.push({ arm: a.arm, share: a.share, start: cumulative, end: cumulative + a.share });
    cumulative += a.share;
  }
  // The shares sum to 1 up to rounding; the last range closes [0, 1) exactly so every bucket has an arm.
  ranges[ranges.length - 1]!.end = 1;
  return ranges;
}

/** The arm whose range holds `bucket`. */
export function armOfBucket(ranges: readonly ArmRange[], bucket: number): string {
  for (const r of ranges) if (bucket >= r.start && bucket < r.end) return r.arm;
  return ranges[ranges.length - 1]!.arm;
}

/** A person's arm in a play, with the bucket that decided it. */
export function assignArm(plan: ArmPlan, personId: string): { arm: string; bucket: number } {
  const bucket = hashBucket(plan.seed, personId);
  return { arm: armOfBucket(armRanges(plan), bucket), bucket };
}

/**
 * An assigner for many people: the ranges are checked and built once.
 * `assigner(plan)(id)` is the same as `assignArm(plan, id).arm`.
 */
export function armAssigner(plan: ArmPlan): (personId: string) => string {
  const ranges = armRanges(plan);
  return (personId) => armOfBucket(ranges, hashBucket(plan.seed, personId));
}
