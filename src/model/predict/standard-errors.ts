/**
 * Asymptotic standard errors of maximum-likelihood estimates: the square roots of the diagonal of the inverse of the
 * observed information −∇² ln L, with the Hessian taken by central differences of the analytic gradient.
 */
export function standardErrors(
  gradientOfLogLikelihood: (params: Float64Array, gradient: Float64Array) => void,
  estimate: ArrayLike<number>,
): Float64Array | null {
  const n = estimate.length;
  const info = new Float64Array(n * n);
  const plus = new Float64Array(n);
  const minus = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const h = 1e-5 * Math.max(Math.abs(estimate[j]!), 1e-8);
    const up = Float64Array.from(estimate);
    const down = Float64Array.from(estimate);
    up[j] = up[j]! + h;
    down[j] = down[j]! - h;
    gradientOfLogLikelihood(up, plus);
    gradientOfLogLikelihood(down, minus);
    for (let i = 0; i < n; i++) info[i * n + j] = -(plus[i]! - minus[i]!) / (2 * h);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const s = (info[i * n + j]! + info[j * n + i]!) / 2;
      info[i * n + j] = s;
      info[j * n + i] = s;
    }
  }
  const inverse = invert(info, n);
  if (!inverse) return null;
  const se = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = inverse[i * n + i]!;
    if (!(v > 0) || !Number.isFinite(v)) return null;
    se[i] = Math.sqrt(v);
  }
  return se;
}

/** The same from an analytic Hessian of ln L (n × n, row-major). */
export function standardErrorsFromHessian(hessian: Float64Array, n: number): Float64Array | null {
  const inverse = invert(
    hessian.map((v) => -v),
    n,
  );
  if (!inverse) return null;
  const se = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = inverse[i * n + i]!;
    if (!(v > 0) || !Number.isFinite(v)) return null;
    se[i] = Math.sqrt(v);
  }
  return se;
}

/** Gauss-Jordan inversion with partial pivoting; null when the matrix is singular. */
function invert(m: Float64Array, n: number): Float64Array | null {
  const a = Float64Array.from(m);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++)
      if (Math.abs(a[r * n + col]!) > Math.abs(a[pivot * n + col]!)) pivot = r;
    const p = a[pivot * n + col]!;
    if (Math.abs(p) < 1e-300 || !Number.isFinite(p)) return null;
    if (pivot !== col) {
      for (let k = 0; k < n; k++) {
        [a[col * n + k], a[pivot * n + k]] = [a[pivot * n + k]!, a[col * n + k]!];
        [inv[col * n + k], inv[pivot * n + k]] = [inv[pivot * n + k]!, inv[col * n + k]!];
      }
    }
    for (let k = 0; k < n; k++) {
      a[col * n + k] = a[col * n + k]! / p;
      inv[col * n + k] = inv[col * n + k]! / p;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r * n + col]!;
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        a[r * n + k] = a[r * n + k]! - f * a[col * n + k]!;
        inv[r * n + k] = inv[r * n + k]! - f * inv[col * n + k]!;
      }
    }
  }
  return inv;
}
