/**
 * Small, dependency-free minimisers over Float64Arrays for the models' likelihoods (a handful of parameters, an
 * objective that is a sum over grouped summaries). BFGS with analytic gradients is the workhorse; Nelder-Mead needs no
 * gradient and is the fallback when BFGS stalls (and the generic baseline the benchmark compares against).
 */

/** An objective that returns f(x) and writes ∇f(x) into `gradient`. Non-finite values mean "outside the domain". */
export type ObjectiveWithGradient = (x: Float64Array, gradient: Float64Array) => number;
export type Objective = (x: Float64Array) => number;

export interface MinimizeResult {
  x: Float64Array;
  value: number;
  iterations: number;
  /** Objective evaluations (with the gradient, for BFGS). */
  evaluations: number;
  converged: boolean;
  /** Largest absolute gradient component at `x` (BFGS only; NaN for Nelder-Mead). */
  gradientNorm: number;
}

export interface BfgsOptions {
  /**
   * Converged when every gradient component is at most this. The objective should be scaled to order 1 (a mean over
   * people, say): then its rounding noise (~1e-16) limits the resolvable gradient to ~1e-8, and 1e-7 leaves parameters
   * accurate to about 7 digits.
   */
  gradientTolerance?: number;
  maxIterations?: number;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * A step length satisfying the strong Wolfe conditions (Nocedal & Wright, Numerical Optimization, algorithms 3.5 and
 * 3.6), by bracketing then zooming with safeguarded cubic interpolation. Returns the step and the objective and
 * gradient there, or null when no acceptable step was found.
 */
function wolfeLineSearch(args: {
  f: ObjectiveWithGradient;
  x: Float64Array;
  direction: Float64Array;
  f0: number;
  slope0: number;
  count: () => void;
}): { step: number; value: number; point: Float64Array; gradient: Float64Array } | null {
  const { f, x, direction, f0, slope0, count } = args;
  const c1 = 1e-4;
  const c2 = 0.9;
  const n = x.length;
  const point = new Float64Array(n);
  const gradient = new Float64Array(n);

  const evaluate = (step: number): { value: number; slope: number } => {
    for (let i = 0; i < n; i++) point[i] = x[i]! + step * direction[i]!;
    count();
    const value = f(point, gradient);
    return {
      value: Number.isFinite(value) ? value : Number.POSITIVE_INFINITY,
      slope: dot(gradient, direction),
    };
  };
  const accept = (step: number, value: number) => ({
    step,
    value,
    point: Float64Array.from(point),
    gradient: Float64Array.from(gradient),
  });

  const zoom = (lo: number, fLo: number, sLo: number, hi: number, fHi: number, sHi: number) => {
    for (let i = 0; i < 40; i++) {
      // Cubic interpolation between the bracket ends, kept well inside the bracket; bisection otherwise.
      let step = (lo + hi) / 2;
      if (Number.isFinite(fHi) && Number.isFinite(sHi)) {
        const d1 = sLo + sHi - (3 * (fLo - fHi)) / (lo - hi);
        const disc = d1 * d1 - sLo * sHi;
        if (disc >= 0) {
          const d2 = Math.sign(hi - lo) * Math.sqrt(disc);
          const cubic = hi - (hi - lo) * ((sHi + d2 - d1) / (sHi - sLo + 2 * d2));
          const lower = Math.min(lo, hi);
          const width = Math.abs(hi - lo);
          if (cubic > lower + 0.1 * width && cubic < lower + 0.9 * width) step = cubic;
        }
      }
      const e = evaluate(step);
      if (e.value > f0 + c1 * step * slope0 || e.value >= fLo) {
        hi = step;
        fHi = e.value;
        sHi = e.slope;
      } else {
        if (Math.abs(e.slope) <= -c2 * slope0) return accept(step, e.value);
        if (e.slope * (hi - lo) >= 0) {
          hi = lo;
          fHi = fLo;
          sHi = sLo;
        }
        lo = step;
        fLo = e.value;
        sLo = e.slope;
      }
      if (Math.abs(hi - lo) < 1e-14) break;
    }
    // The bracket collapsed: take its best end if it decreased the objective at all.
    if (lo > 0 && fLo < f0) {
      const e = evaluate(lo);
      return accept(lo, e.value);
    }
    return null;
  };

  let prevStep = 0;
  let prevValue = f0;
  let prevSlope = slope0;
  let step = 1;
  for (let i = 0; i < 30; i++) {
    const e = evaluate(step);
    if (e.value > f0 + c1 * step * slope0 || (i > 0 && e.value >= prevValue)) {
      return zoom(prevStep, prevValue, prevSlope, step, e.value, e.slope);
    }
    if (Math.abs(e.slope) <= -c2 * slope0) return accept(step, e.value);
    if (e.slope >= 0) return zoom(step, e.value, e.slope, prevStep, prevValue, prevSlope);
    prevStep = step;
    prevValue = e.value;
    prevSlope = e.slope;
    step *= 2;
  }
  return null;
}

/**
 * BFGS (Nocedal & Wright, algorithm 6.1) with a strong-Wolfe line search. The inverse Hessian starts as the identity
 * scaled after the first step (their eq. 6.20); an update that would lose positive definiteness is skipped.
 */
export function minimizeBfgs(
  f: ObjectiveWithGradient,
  start: ArrayLike<number>,
  options: BfgsOptions = {},
): MinimizeResult {
  const gtol = options.gradientTolerance ?? 1e-7;
  const maxIterations = options.maxIterations ?? 500;
  const n = start.length;
  let x: Float64Array = Float64Array.from(start);
  let g: Float64Array = new Float64Array(n);
  let evaluations = 1;
  let value = f(x, g);
  if (!Number.isFinite(value)) {
    return { x, value, iterations: 0, evaluations, converged: false, gradientNorm: Number.NaN };
  }
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) H[i * n + i] = 1;
  const direction = new Float64Array(n);
  const s = new Float64Array(n);
  const y = new Float64Array(n);
  const Hy = new Float64Array(n);
  let iterations = 0;
  let scaled = false;
  while (iterations < maxIterations) {
    if (maxAbs(g) <= gtol) {
      return { x, value, iterations, evaluations, converged: true, gradientNorm: maxAbs(g) };
    }
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) d -= H[i * n + j]! * g[j]!;
      direction[i] = d;
    }
    let slope = dot(direction, g);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      H.fill(0);
      for (let i = 0; i < n; i++) {
        H[i * n + i] = 1;
        direction[i] = -g[i]!;
      }
      slope = dot(direction, g);
    }
    const found = wolfeLineSearch({
      f,
      x,
      direction,
      f0: value,
      slope0: slope,
      count: () => {
        evaluations++;
      },
    });
    iterations++;
    if (!found) {
      // No step decreases the objective: at its rounding-noise floor, that is convergence if the gradient is small.
      const gn = maxAbs(g);
      return { x, value, iterations, evaluations, converged: gn <= gtol * 100, gradientNorm: gn };
    }
    for (let i = 0; i < n; i++) {
      s[i] = found.point[i]! - x[i]!;
      y[i] = found.gradient[i]! - g[i]!;
    }
    const previous = value;
    x = found.point;
    g = found.gradient;
    value = found.value;
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (!scaled) {
        const scale = sy / dot(y, y);
        for (let i = 0; i < n * n; i++) H[i] = H[i]! * scale;
        scaled = true;
      }
      // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, expanded so it costs O(n²).
      const rho = 1 / sy;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += H[i * n + j]! * y[j]!;
        Hy[i] = v;
      }
      const yHy = dot(y, Hy);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] =
            H[i * n + j]! - rho * (Hy[i]! * s[j]! + s[i]! * Hy[j]!) + (rho * rho * yHy + rho) * s[i]! * s[j]!;
        }
      }
    }
    // Progress below the floating-point noise of the objective: nothing more to gain.
    if (Math.abs(previous - value) <= 1e-15 * Math.max(1, Math.abs(value)) && maxAbs(g) <= gtol * 1e3) {
      return { x, value, iterations, evaluations, converged: true, gradientNorm: maxAbs(g) };
    }
  }
  return { x, value, iterations, evaluations, converged: maxAbs(g) <= gtol, gradientNorm: maxAbs(g) };
}

export interface NelderMeadOptions {
  /** Converged when the simplex's values differ by at most this and its vertices by at most `xTolerance`. */
  fTolerance?: number;
  xTolerance?: number;
  maxEvaluations?: number;
  /** Edge length of the starting simplex. */
  initialStep?: number;
}

/**
 * Nelder-Mead with the dimension-adaptive coefficients of Gao & Han (2012), which behave better than the classic
 * ones beyond two dimensions. Non-finite values count as +∞, so the simplex backs away from the domain's edge.
 */
export function minimizeNelderMead(
  f: Objective,
  start: ArrayLike<number>,
  options: NelderMeadOptions = {},
): MinimizeResult {
  const n = start.length;
  const ftol = options.fTolerance ?? 1e-10;
  const xtol = options.xTolerance ?? 1e-10;
  const maxEvaluations = options.maxEvaluations ?? 20_000;
  const step = options.initialStep ?? 0.5;
  const alpha = 1;
  const beta = 1 + 2 / n;
  const gamma = 0.75 - 1 / (2 * n);
  const delta = 1 - 1 / n;
  let evaluations = 0;
  const value = (x: Float64Array) => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  const points: Float64Array[] = [];
  const values: number[] = [];
  for (let i = 0; i <= n; i++) {
    const p = Float64Array.from(start);
    if (i > 0) p[i - 1] = p[i - 1]! + step;
    points.push(p);
    values.push(value(p));
  }
  const centroid = new Float64Array(n);
  const along = (coef: number) => {
    const worst = points[n]!;
    const p = new Float64Array(n);
    for (let j = 0; j < n; j++) p[j] = centroid[j]! + coef * (centroid[j]! - worst[j]!);
    return p;
  };
  let iterations = 0;
  let converged = false;
  while (evaluations < maxEvaluations) {
    const order = values.map((_v, i) => i).sort((a, b) => values[a]! - values[b]!);
    const sortedPoints = order.map((i) => points[i]!);
    const sortedValues = order.map((i) => values[i]!);
    for (let i = 0; i <= n; i++) {
      points[i] = sortedPoints[i]!;
      values[i] = sortedValues[i]!;
    }
    let spread = 0;
    for (let i = 1; i <= n; i++) {
      for (let j = 0; j < n; j++) spread = Math.max(spread, Math.abs(points[i]![j]! - points[0]![j]!));
    }
    if (Math.abs(values[n]! - values[0]!) <= ftol && spread <= xtol) {
      converged = true;
      break;
    }
    iterations++;
    centroid.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] = centroid[j]! + points[i]![j]! / n;
    const reflected = along(alpha);
    const fr = value(reflected);
    if (fr < values[0]!) {
      const expanded = along(alpha * beta);
      const fe = value(expanded);
      if (fe < fr) {
        points[n] = expanded;
        values[n] = fe;
      } else {
        points[n] = reflected;
        values[n] = fr;
      }
      continue;
    }
    if (fr < values[n - 1]!) {
      points[n] = reflected;
      values[n] = fr;
      continue;
    }
    const outside = fr < values[n]!;
    const contracted = along(outside ? alpha * gamma : -gamma);
    const fc = value(contracted);
    if (fc < (outside ? fr : values[n]!)) {
      points[n] = contracted;
      values[n] = fc;
      continue;
    }
    // Shrink towards the best vertex.
    for (let i = 1; i <= n; i++) {
      for (let j = 0; j < n; j++) points[i]![j] = points[0]![j]! + delta * (points[i]![j]! - points[0]![j]!);
      values[i] = value(points[i]!);
    }
  }
  let best = 0;
  for (let i = 1; i <= n; i++) if (values[i]! < values[best]!) best = i;
  return {
    x: points[best]!,
    value: values[best]!,
    iterations,
    evaluations,
    converged,
    gradientNorm: Number.NaN,
  };
}

/** An objective that returns f(x) and writes ∇f(x) and the Hessian ∇²f(x) (n × n, row-major). */
export type ObjectiveWithHessian = (x: Float64Array, gradient: Float64Array, hessian: Float64Array) => number;

/** Cholesky factorisation in place (lower triangle); false when the matrix is not positive definite. */
function cholesky(m: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = m[j * n + j]!;
    for (let k = 0; k < j; k++) d -= m[j * n + k]! ** 2;
    if (!(d > 0) || !Number.isFinite(d)) return false;
    const l = Math.sqrt(d);
    m[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = m[i * n + j]!;
      for (let k = 0; k < j; k++) s -= m[i * n + k]! * m[j * n + k]!;
      m[i * n + j] = s / l;
    }
  }
  return true;
}

/**
 * Newton's method with analytic second derivatives: a few iterations where BFGS needs tens, each costing one
 * evaluation. Where the Hessian is not positive definite (far from the optimum) it is shifted by μI until it is
 * (Levenberg-Marquardt damping); steps are backtracked until the objective decreases (Armijo).
 */
export function minimizeNewton(
  f: ObjectiveWithHessian,
  start: ArrayLike<number>,
  options: BfgsOptions = {},
): MinimizeResult {
  const gtol = options.gradientTolerance ?? 1e-7;
  const maxIterations = options.maxIterations ?? 100;
  const n = start.length;
  let x = Float64Array.from(start);
  const g = new Float64Array(n);
  const H = new Float64Array(n * n);
  const L = new Float64Array(n * n);
  const step = new Float64Array(n);
  const trial = new Float64Array(n);
  const gTrial = new Float64Array(n);
  const HTrial = new Float64Array(n * n);
  let evaluations = 1;
  let value = f(x, g, H);
  let iterations = 0;
  while (Number.isFinite(value) && iterations < maxIterations) {
    if (maxAbs(g) <= gtol) {
      return { x, value, iterations, evaluations, converged: true, gradientNorm: maxAbs(g) };
    }
    iterations++;
    // Solve (H + μI) step = −g, raising μ until the matrix is positive definite.
    let mu = 0;
    for (let attempt = 0; ; attempt++) {
      L.set(H);
      for (let i = 0; i < n; i++) L[i * n + i] = L[i * n + i]! + mu;
      if (cholesky(L, n)) break;
      if (attempt > 60)
        return { x, value, iterations, evaluations, converged: false, gradientNorm: maxAbs(g) };
      mu = mu === 0 ? 1e-6 * Math.max(1, maxAbs(H)) : mu * 10;
    }
    for (let i = 0; i < n; i++) {
      let s = -g[i]!;
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * step[k]!;
      step[i] = s / L[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = step[i]!;
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * step[k]!;
      step[i] = s / L[i * n + i]!;
    }
    const slope = dot(step, g);
    let t = 1;
    let accepted = false;
    for (let k = 0; k < 50; k++) {
      for (let i = 0; i < n; i++) trial[i] = x[i]! + t * step[i]!;
      evaluations++;
      const v = f(trial, gTrial, HTrial);
      if (Number.isFinite(v) && v <= value + 1e-4 * t * slope) {
        x = Float64Array.from(trial);
        g.set(gTrial);
        H.set(HTrial);
        const previous = value;
        value = v;
        accepted = true;
        // At the objective's rounding-noise floor there is nothing more to gain.
        if (previous - value <= 1e-15 * Math.max(1, Math.abs(value)) && maxAbs(g) <= gtol * 100) {
          return { x, value, iterations, evaluations, converged: true, gradientNorm: maxAbs(g) };
        }
        break;
      }
      t /= 2;
    }
    if (!accepted) {
      return {
        x,
        value,
        iterations,
        evaluations,
        converged: maxAbs(g) <= gtol * 100,
        gradientNorm: maxAbs(g),
      };
    }
  }
  return { x, value, iterations, evaluations, converged: maxAbs(g) <= gtol, gradientNorm: maxAbs(g) };
}
