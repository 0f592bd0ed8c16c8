/**
 * How good a probability forecast is, on held-out rows: discrimination (AUC, top-decile lift), sharpness and
 * calibration (log loss, observed vs predicted by decile).
 */
export interface CalibrationBin {
  decile: number;
  people: number;
  meanPredicted: number;
  observedRate: number;
}

/** A point of the ROC curve: the shares of positives and negatives scored at or above one threshold. */
export interface RocPoint {
  falsePositiveRate: number;
  truePositiveRate: number;
}

export interface Backtest {
  people: number;
  positives: number;
  baseRate: number;
  /** Area under the ROC curve (ties count one half). */
  auc: number;
  logLoss: number;
  /** Deciles of the predicted probability, 1 = highest. */
  calibration: CalibrationBin[];
  /** Positive rate in the top decile / the base rate. */
  topDecileLift: number;
  /** The ROC curve from (0, 0) to (1, 1), thinned to at most about 200 points (see rocCurve). */
  roc: RocPoint[];
}

/** AUC by the Mann–Whitney rank sum, with average ranks for ties. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!]) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * The ROC curve: one point per distinct score (people with equal scores move together, as AUC counts ties), from
 * (0, 0) to (1, 1). Thinned so a stored fit stays small whatever the test set: a point is kept once either rate has
 * moved by at least 1/100 since the last kept one, and the last point always; the trapezoid area under the thinned
 * curve stays within about 0.01 of the AUC. Empty when the labels are all of one class (no rate is defined).
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): RocPoint[] {
  const n = scores.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i] ? 1 : 0;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return [];
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const curve: RocPoint[] = [{ falsePositiveRate: 0, truePositiveRate: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && scores[order[j]!] === scores[order[i]!]) {
      if (labels[order[j]!]) tp++;
      else fp++;
      j++;
    }
    i = j;
    const point = { falsePositiveRate: fp / negatives, truePositiveRate: tp / positives };
    const last = curve[curve.length - 1]!;
    const moved = Math.max(
      point.falsePositiveRate - last.falsePositiveRate,
      point.truePositiveRate - last.truePositiveRate,
    );
    if (moved >= 0.01 || i === n) curve.push(point);
  }
  return curve;
}

export function logLoss(p: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(Math.max(p[i]!, 1e-15), 1 - 1e-15);
    s -= labels[i] ? Math.log(q) : Math.log(1 - q);
  }
  return s / p.length;
}

export function backtest(p: ArrayLike<number>, labels: ArrayLike<number>): Backtest {
  const n = p.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i] ? 1 : 0;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[b]! - p[a]!);
  const calibration: CalibrationBin[] = [];
  for (let d = 0; d < 10; d++) {
    const from = Math.floor((d * n) / 10);
    const to = Math.floor(((d + 1) * n) / 10);
    let sp = 0;
    let sy = 0;
    for (let k = from; k < to; k++) {
      sp += p[order[k]!]!;
      sy += labels[order[k]!] ? 1 : 0;
    }
    const people = to - from;
    calibration.push({
      decile: d + 1,
      people,
      meanPredicted: people ? sp / people : Number.NaN,
      observedRate: people ? sy / people : Number.NaN,
    });
  }
  const baseRate = n ? positives / n : Number.NaN;
  return {
    people: n,
    positives,
    baseRate,
    auc: auc(p, labels),
    logLoss: logLoss(p, labels),
    calibration,
    topDecileLift: calibration[0]!.observedRate / baseRate,
    roc: rocCurve(p, labels),
  };
}
