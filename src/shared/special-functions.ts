/**
 * Special functions for positive real arguments, shared by the customer-base models (model/predict) and the
 * statistics of measure/distributions.ts. Written here rather than taken from a package because they are few, small
 * and their accuracy is checked against closed forms in the tests.
 */

// Lanczos approximation (g = 7, n = 9): about 15 significant digits for x > 0.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0. */
export function lnGamma(x: number): number {
  if (x < 0.5) {
    // Reflection keeps the approximation in its accurate range: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS_G + 2; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_TWO_PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** The digamma function ψ(x) = d/dx ln Γ(x), for x > 0: recurrence up to x ≥ 6, then the asymptotic series. */
export function digamma(x: number): number {
  let result = 0;
  let v = x;
  while (v < 6) {
    result -= 1 / v;
    v += 1;
  }
  const inv = 1 / v;
  const inv2 = inv * inv;
  // ln v − 1/(2v) − Σ B₂ₖ / (2k v²ᵏ), Bernoulli numbers B₂..B₁₀.
  return (
    result +
    Math.log(v) -
    0.5 * inv -
    inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
  );
}

/** ln(eᵃ + eᵇ) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** The most series terms summed before giving up; only reached as z → 1. */
const MAX_TERMS = 1_000_000;

/**
 * The Gauss hypergeometric function ₂F₁(a, b; c; z) by its power series, for 0 ≤ z < 1 and c > 0. Callers arrange
 * the parameters (by Euler's transformation) so that the terms stay small; see bgnbd.ts.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (z === 0) return 1;
  let term = 1;
  let sum = 1;
  for (let k = 0; k < MAX_TERMS; k++) {
    const ratio = (((a + k) * (b + k)) / ((c + k) * (k + 1))) * z;
    term *= ratio;
    sum += term;
    // Stop once the terms are negligible and can only shrink from here on.
    if (Math.abs(term) <= 1e-16 * Math.abs(sum) && Math.abs(ratio) < 1) return sum;
  }
  return sum;
}
