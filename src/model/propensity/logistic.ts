import { SegflowError } from '../../errors.js';

/**
 * L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least squares) on
 * standardised columns. Propensity models have tens of features and up to millions of rows: one Newton step costs
 * O(n·p²), converges in a handful of steps, and needs no learning rate — so the fit is exact and reproducible.
 */
export interface LogisticModel {
  /** Column names, in the order of `weights`. */
  columns: readonly string[];
  intercept: number;
  /** Coefficients on the standardised columns. */
  weights: number[];
  /** Standardisation learned on the training rows: x' = (x − mean) / sd. */
  means: number[];
  sds: number[];
  lambda: number;
  iterations: number;
}

export interface LogisticOptions {
  /** L2 penalty on the (standardised) coefficients, the intercept excluded; default 1. */
  lambda?: number;
  maxIterations?: number;
  /** Stop when the largest change of a coefficient is below this; default 1e-8. */
  tolerance?: number;
}

/** Rows as columns: one Float64Array per feature, all of length n; `labels` holds 0 or 1. */
export interface Design {
  columns: readonly string[];
  values: readonly Float64Array[];
  labels: Uint8Array;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Solve A x = b for a symmetric positive-definite A (Cholesky); A is p×p row-major and is overwritten. */
function choleskySolve(a: Float64Array, b: Float64Array, p: number): Float64Array {
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j]!;
    for (let k = 0; k < j; k++) d -= a[j * p + k]! ** 2;
    if (!(d > 0)) throw new SegflowError('MODEL_FIT_FAILED', 'the Newton system is singular', 'raise lambda');
    const l = Math.sqrt(d);
    a[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j]!;
      for (let k = 0; k < j; k++) s -= a[i * p + k]! * a[j * p + k]!;
      a[i * p + j] = s / l;
    }
  }
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[i * p + k]! * y[k]!;
    y[i] = s / a[i * p + i]!;
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < p; k++) s -= a[k * p + i]! * x[k]!;
    x[i] = s / a[i * p + i]!;
  }
  return x;
}

/** Fit the model. Columns with no spread get a zero weight (their sd is set to 1 so they standardise to 0). */
export function fitLogistic(design: Design, options: LogisticOptions = {}): LogisticModel {
  const lambda = options.lambda ?? 1;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-8;
  const n = design.labels.length;
  const m = design.columns.length;
  if (n === 0) throw new SegflowError('MODEL_NO_DATA', 'no training rows', 'widen the training window');
  let positives = 0;
  for (let i = 0; i < n; i++) positives += design.labels[i]!;
  if (positives === 0 || positives === n) {
    throw new SegflowError(
      'MODEL_NO_DATA',
      `every training row has label ${positives === 0 ? 0 : 1}: there is nothing to learn`,
      'use more snapshots or a longer horizon, so that both outcomes occur',
    );
  }
  const means: number[] = [];
  const sds: number[] = [];
  const x: Float64Array[] = design.values.map((col) => {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += col[i]!;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (col[i]! - mean) ** 2;
    const sd = Math.sqrt(v / n) || 1;
    means.push(mean);
    sds.push(sd);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = (col[i]! - mean) / sd;
    return out;
  });
  const p = m + 1; // the intercept is coefficient 0
  const beta = new Float64Array(p);
  beta[0] = Math.log(positives / (n - positives));
  const eta = new Float64Array(n);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    eta.fill(beta[0]!);
    for (let j = 0; j < m; j++) {
      const col = x[j]!;
      const w = beta[j + 1]!;
      if (w !== 0) for (let i = 0; i < n; i++) eta[i]! += w * col[i]!;
    }
    // Gradient and Hessian of the penalised negative log-likelihood.
    const grad = new Float64Array(p);
    const hess = new Float64Array(p * p);
    const row = new Float64Array(p);
    row[0] = 1;
    for (let i = 0; i < n; i++) {
      const mu = sigmoid(eta[i]!);
      const r = mu - design.labels[i]!;
      const w = Math.max(mu * (1 - mu), 1e-12);
      for (let j = 0; j < m; j++) row[j + 1] = x[j]![i]!;
      for (let a = 0; a < p; a++) {
        const ra = row[a]!;
        grad[a]! += r * ra;
        const wa = w * ra;
        for (let b = 0; b <= a; b++) hess[a * p + b]! += wa * row[b]!;
      }
    }
    for (let a = 1; a < p; a++) {
      grad[a]! += lambda * beta[a]!;
      hess[a * p + a]! += lambda;
    }
    for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) hess[a * p + b] = hess[b * p + a]!;
    const step = choleskySolve(hess, grad, p);
    let largest = 0;
    for (let a = 0; a < p; a++) {
      beta[a]! -= step[a]!;
      largest = Math.max(largest, Math.abs(step[a]!));
    }
    if (largest < tolerance) {
      iterations++;
      break;
    }
  }
  return {
    columns: design.columns,
    intercept: beta[0]!,
    weights: Array.from(beta.subarray(1)),
    means,
    sds,
    lambda,
    iterations,
  };
}

/** Probabilities for rows given as columns in the model's column order. */
export function predictLogistic(model: LogisticModel, values: readonly Float64Array[]): Float64Array {
  const n = values[0]?.length ?? 0;
  const eta = new Float64Array(n).fill(model.intercept);
  model.weights.forEach((w, j) => {
    const col = values[j]!;
    const mean = model.means[j]!;
    const sd = model.sds[j]!;
    for (let i = 0; i < n; i++) eta[i]! += (w * (col[i]! - mean)) / sd;
  });
  for (let i = 0; i < n; i++) eta[i] = sigmoid(eta[i]!);
  return eta;
}
