import {
  type BgNbdModel,
  bgnbdExpectedPurchases,
  bgnbdExpectedPurchasesFromStart,
  bgnbdPurchaseDistribution,
} from './bgnbd.js';
import { type GammaGammaParams, gammaGammaPopulationMean } from './gamma-gamma.js';
import type { MonetarySummaries, RfmSummaries } from './summaries-types.js';

/** The literature's standard checks of a BG/NBD fit (Fader, Hardie & Lee 2005, figures 2 and 5). */
export interface BgNbdDiagnostics {
  /** Repeat purchases in the calibration window: observed vs Σ E[X(T)] over people. */
  calibration: { actualRepeatPurchases: number; expectedRepeatPurchases: number };
  /** People by number of repeat purchases: observed vs Σ P(X(T) = x) over people; the last row is "7+". */
  frequency: { x: string; actualPeople: number; expectedPeople: number }[];
  /** With a holdout: purchases in it, observed vs E[Y(t) | x, t_x, T] summed, overall and by calibration x. */
  holdout?: {
    length: number;
    actualPurchases: number;
    expectedPurchases: number;
    byFrequency: { x: string; people: number; actualMean: number; expectedMean: number }[];
  };
}

const BUCKETS = 7; // x = 0..6, then 7+

export function bgnbdDiagnostics(args: {
  model: BgNbdModel;
  data: RfmSummaries;
  holdoutPurchases?: Float64Array;
  holdoutLength?: number;
}): BgNbdDiagnostics {
  const { model, data } = args;
  const unit = model.timeUnit;
  let actualRepeat = 0;
  let expectedRepeat = 0;
  const actualPeople = new Float64Array(BUCKETS + 1);
  const expectedPeople = new Float64Array(BUCKETS + 1);
  const holdoutPeople = new Float64Array(BUCKETS + 1);
  const holdoutActual = new Float64Array(BUCKETS + 1);
  const holdoutExpected = new Float64Array(BUCKETS + 1);
  const withHoldout = args.holdoutPurchases !== undefined && (args.holdoutLength ?? 0) > 0;
  // E[X(T)] and P(X(T) = n) depend on the person only through T, and many people share one (a cohort's ages are
  // whole days): the expected side is summed per distinct T (people's weights added up first), not per person.
  // The distinct T in the order met, and the weight at each.
  const indexOfT = new Map<number, number>();
  const ages: number[] = [];
  const weightAtT: number[] = [];
  for (let i = 0; i < data.x.length; i++) {
    const w = data.weight[i]!;
    const x = data.x[i]!;
    const bucket = Math.min(x, BUCKETS);
    actualRepeat += w * x;
    actualPeople[bucket] = actualPeople[bucket]! + w;
    let j = indexOfT.get(data.T[i]!);
    if (j === undefined) {
      j = ages.length;
      indexOfT.set(data.T[i]!, j);
      ages.push(data.T[i]!);
      weightAtT.push(0);
    }
    weightAtT[j] = weightAtT[j]! + w;
  }
  for (let j = 0; j < ages.length; j++) {
    const w = weightAtT[j]!;
    const T = { value: ages[j]!, unit };
    expectedRepeat += w * bgnbdExpectedPurchasesFromStart(model, T);
    const distribution = bgnbdPurchaseDistribution(model, T, BUCKETS);
    let below = 0;
    for (let n = 0; n < BUCKETS; n++) {
      expectedPeople[n] = expectedPeople[n]! + w * distribution[n]!;
      below += distribution[n]!;
    }
    expectedPeople[BUCKETS] = expectedPeople[BUCKETS]! + w * Math.max(0, 1 - below);
  }
  for (let i = 0; withHoldout && i < data.x.length; i++) {
    const w = data.weight[i]!;
    const x = data.x[i]!;
    const bucket = Math.min(x, BUCKETS);
    holdoutPeople[bucket] = holdoutPeople[bucket]! + w;
    holdoutActual[bucket] = holdoutActual[bucket]! + args.holdoutPurchases![i]!;
    const e = bgnbdExpectedPurchases(
      model,
      { x, tx: data.tx[i]!, T: data.T[i]! },
      { value: args.holdoutLength!, unit },
    );
    holdoutExpected[bucket] = holdoutExpected[bucket]! + w * e;
  }
  const label = (b: number) => (b === BUCKETS ? `${BUCKETS}+` : String(b));
  const result: BgNbdDiagnostics = {
    calibration: { actualRepeatPurchases: actualRepeat, expectedRepeatPurchases: expectedRepeat },
    frequency: Array.from({ length: BUCKETS + 1 }, (_, b) => ({
      x: label(b),
      actualPeople: actualPeople[b]!,
      expectedPeople: expectedPeople[b]!,
    })),
  };
  if (withHoldout) {
    result.holdout = {
      length: args.holdoutLength!,
      actualPurchases: holdoutActual.reduce((a, b) => a + b, 0),
      expectedPurchases: holdoutExpected.reduce((a, b) => a + b, 0),
      byFrequency: Array.from({ length: BUCKETS + 1 }, (_, b) => ({
        x: label(b),
        people: holdoutPeople[b]!,
        actualMean: holdoutPeople[b]! > 0 ? holdoutActual[b]! / holdoutPeople[b]! : 0,
        expectedMean: holdoutPeople[b]! > 0 ? holdoutExpected[b]! / holdoutPeople[b]! : 0,
      })),
    };
  }
  return result;
}

export interface GammaGammaDiagnostics {
  /** Mean over repeat customers of their mean repeat order value. */
  meanObservedOrderValue: number;
  /** The model's E[Z] = pγ/(q−1). */
  populationMean: number;
  /** Pearson correlation of x and m across repeat customers: the model assumes they are independent (≈ 0). */
  frequencyValueCorrelation: number;
}

export function gammaGammaDiagnostics(
  params: GammaGammaParams,
  data: MonetarySummaries,
): GammaGammaDiagnostics {
  let n = 0;
  let sx = 0;
  let sm = 0;
  for (let i = 0; i < data.x.length; i++) {
    n += data.weight[i]!;
    sx += data.weight[i]! * data.x[i]!;
    sm += data.weight[i]! * data.m[i]!;
  }
  const mx = sx / n;
  const mm = sm / n;
  let cxx = 0;
  let cmm = 0;
  let cxm = 0;
  for (let i = 0; i < data.x.length; i++) {
    const dx = data.x[i]! - mx;
    const dm = data.m[i]! - mm;
    cxx += data.weight[i]! * dx * dx;
    cmm += data.weight[i]! * dm * dm;
    cxm += data.weight[i]! * dx * dm;
  }
  return {
    meanObservedOrderValue: mm,
    populationMean: gammaGammaPopulationMean(params),
    frequencyValueCorrelation: cxx > 0 && cmm > 0 ? cxm / Math.sqrt(cxx * cmm) : 0,
  };
}
