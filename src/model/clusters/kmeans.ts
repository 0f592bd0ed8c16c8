import { createRng, type Rng } from '../../shared/seeded-random.js';

/** n points of d coordinates, row-major: point i is data[i*d .. i*d+d). */
export interface Points {
  data: Float64Array;
  n: number;
  d: number;
}

export interface KMeansResult {
  k: number;
  /** k × d, row-major. */
  centroids: Float64Array;
  /** The cluster of each point. */
  assignment: Int32Array;
  /** Sum of squared distances of points to their centroid. */
  inertia: number;
  iterations: number;
}

function squaredDistance(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const diff = a[ai + j]! - b[bi + j]!;
    s += diff * diff;
  }
  return s;
}

/** The index of the nearest centroid to point i and the squared distance to it. */
export function nearest(points: Points, i: number, centroids: Float64Array, k: number): [number, number] {
  let best = 0;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let c = 0; c < k; c++) {
    const dist = squaredDistance(points.data, i * points.d, centroids, c * points.d, points.d);
    if (dist < bestDistance) {
      bestDistance = dist;
      best = c;
    }
  }
  return [best, bestDistance];
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre uniformly at random, each next one with
 * probability proportional to the squared distance to the nearest centre chosen so far.
 */
function seed(points: Points, k: number, rng: Rng): Float64Array {
  const { data, n, d } = points;
  const centroids = new Float64Array(k * d);
  const first = rng.int(0, n);
  centroids.set(data.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = squaredDistance(data, i * d, centroids, 0, d);
    total += closest[i]!;
  }
  for (let c = 1; c < k; c++) {
    let chosen = n - 1;
    if (total > 0) {
      let target = rng.float() * total;
      for (let i = 0; i < n; i++) {
        target -= closest[i]!;
        if (target < 0) {
          chosen = i;
          break;
        }
      }
    } else {
      chosen = rng.int(0, n); // every point coincides with a centre already
    }
    centroids.set(data.subarray(chosen * d, chosen * d + d), c * d);
    total = 0;
    for (let i = 0; i < n; i++) {
      const dist = squaredDistance(data, i * d, centroids, c * d, d);
      if (dist < closest[i]!) closest[i] = dist;
      total += closest[i]!;
    }
  }
  return centroids;
}

/** The nearest and second-nearest centroid of the point at `at`: writes [index, d1², d2²] into `out`. */
function twoNearest(
  data: Float64Array,
  at: number,
  centroids: Float64Array,
  k: number,
  d: number,
  out: Float64Array,
): void {
  let best = 0;
  let d1 = Number.POSITIVE_INFINITY;
  let d2 = Number.POSITIVE_INFINITY;
  // Three columns (the usual recency, frequency, spend) get an unrolled loop: the hot path of the whole fit.
  const x0 = data[at]!;
  const x1 = d >= 3 ? data[at + 1]! : 0;
  const x2 = d >= 3 ? data[at + 2]! : 0;
  for (let c = 0; c < k; c++) {
    let dist: number;
    if (d === 3) {
      const a0 = x0 - centroids[c * 3]!;
      const a1 = x1 - centroids[c * 3 + 1]!;
      const a2 = x2 - centroids[c * 3 + 2]!;
      dist = a0 * a0 + a1 * a1 + a2 * a2;
    } else {
      dist = squaredDistance(data, at, centroids, c * d, d);
    }
    if (dist < d1) {
      d2 = d1;
      d1 = dist;
      best = c;
    } else if (dist < d2) {
      d2 = dist;
    }
  }
  out[0] = best;
  out[1] = d1;
  out[2] = d2;
}

/**
 * Lloyd's iterations from k-means++ seeds, accelerated with Hamerly's bounds (Hamerly 2010, "Making k-means even
 * faster"): each point keeps an upper bound on the distance to its centroid and a lower bound on the distance to any
 * other, so most points are settled without computing a distance once the centroids slow down. The result is the
 * same as plain Lloyd's. Stops when no point changes cluster or the centroids moved less than `tolerance` in total
 * (sum of squared shifts, as scikit-learn's `tol` scaled by the data's mean variance). Typed arrays throughout, no
 * allocation per point.
 */
function lloyd(points: Points, k: number, rng: Rng, maxIterations: number, tolerance: number): KMeansResult {
  const { data, n, d } = points;
  const centroids = seed(points, k, rng);
  const assignment = new Int32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const previous = new Float64Array(k * d);
  const moved = new Float64Array(k);
  const half = new Float64Array(k);
  const found = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    twoNearest(data, i * d, centroids, k, d, found);
    const c = found[0]!;
    assignment[i] = c;
    upper[i] = Math.sqrt(found[1]!);
    lower[i] = Math.sqrt(found[2]!);
    counts[c] = counts[c]! + 1;
    for (let j = 0; j < d; j++) sums[c * d + j] = sums[c * d + j]! + data[i * d + j]!;
  }
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    // Move the centroids to their means; an empty cluster takes the point farthest from its centroid.
    previous.set(centroids);
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        let far = 0;
        for (let i = 1; i < n; i++) if (upper[i]! > upper[far]!) far = i;
        const from = assignment[far]!;
        counts[from] = counts[from]! - 1;
        counts[c] = 1;
        for (let j = 0; j < d; j++) {
          sums[from * d + j] = sums[from * d + j]! - data[far * d + j]!;
          sums[c * d + j] = data[far * d + j]!;
        }
        assignment[far] = c;
        upper[far] = 0;
        lower.fill(0); // every bound is void: recompute all next pass
      }
    }
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < d; j++) centroids[c * d + j] = sums[c * d + j]! / counts[c]!;
    }
    let shift = 0;
    let most = 0;
    let mostAt = -1;
    let second = 0;
    for (let c = 0; c < k; c++) {
      const sq = squaredDistance(centroids, c * d, previous, c * d, d);
      shift += sq;
      moved[c] = Math.sqrt(sq);
      if (moved[c]! > most) {
        second = most;
        most = moved[c]!;
        mostAt = c;
      } else if (moved[c]! > second) {
        second = moved[c]!;
      }
    }
    if (shift <= tolerance) {
      iterations++;
      break;
    }
    for (let c = 0; c < k; c++) {
      let nearestOther = Number.POSITIVE_INFINITY;
      for (let o = 0; o < k; o++) {
        if (o !== c)
          nearestOther = Math.min(nearestOther, squaredDistance(centroids, c * d, centroids, o * d, d));
      }
      half[c] = Math.sqrt(nearestOther) / 2;
    }
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const a = assignment[i]!;
      upper[i] = upper[i]! + moved[a]!;
      lower[i] = lower[i]! - (a === mostAt ? second : most);
      const bound = Math.max(half[a]!, lower[i]!);
      if (upper[i]! <= bound) continue;
      const at = i * d;
      if (d === 3) {
        const a0 = data[at]! - centroids[a * 3]!;
        const a1 = data[at + 1]! - centroids[a * 3 + 1]!;
        const a2 = data[at + 2]! - centroids[a * 3 + 2]!;
        upper[i] = Math.sqrt(a0 * a0 + a1 * a1 + a2 * a2);
      } else {
        upper[i] = Math.sqrt(squaredDistance(data, at, centroids, a * d, d));
      }
      if (upper[i]! <= bound) continue;
      twoNearest(data, at, centroids, k, d, found);
      const c = found[0]!;
      upper[i] = Math.sqrt(found[1]!);
      lower[i] = Math.sqrt(found[2]!);
      if (c !== a) {
        changed++;
        assignment[i] = c;
        counts[a] = counts[a]! - 1;
        counts[c] = counts[c]! + 1;
        for (let j = 0; j < d; j++) {
          sums[a * d + j] = sums[a * d + j]! - data[at + j]!;
          sums[c * d + j] = sums[c * d + j]! + data[at + j]!;
        }
      }
    }
    if (changed === 0) {
      iterations++;
      break;
    }
  }
  // The final assignment and inertia, exactly, for the final centroids.
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    twoNearest(data, i * d, centroids, k, d, found);
    assignment[i] = found[0]!;
    inertia += found[1]!;
  }
  return { k, centroids, assignment, inertia, iterations };
}

/** scikit-learn's tolerance: `tol` times the mean over columns of the column variance. */
function scaledTolerance(points: Points, tol: number): number {
  const { data, n, d } = points;
  let total = 0;
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += data[i * d + j]!;
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (data[i * d + j]! - mean) ** 2;
    total += ss / n;
  }
  return (tol * total) / d;
}

/** What one restart needs besides the points: everything a worker thread gets to run it on its own. */
export interface RestartPlan {
  k: number;
  /** One seed per restart, drawn up front so a restart's result does not depend on which thread runs it. */
  seeds: number[];
  maxIterations: number;
  /** Absolute tolerance of the total squared centroid shift (see `scaledTolerance`). */
  tolerance: number;
}

/** k-means arguments: the points, k, the random stream, and optionally restarts, iterations and tolerance. */
export interface KMeansArgs {
  points: Points;
  k: number;
  rng: Rng;
  restarts?: number;
  maxIterations?: number;
  /** Relative tolerance of the centroid shift (default 1e-4, scikit-learn's); 0 runs until no point moves. */
  tolerance?: number;
}

/** The restarts' seeds and settings, checked. */
export function planRestarts(args: KMeansArgs): RestartPlan {
  const { points, k, rng } = args;
  if (k < 1 || k > points.n) throw new Error(`k-means: k = ${k} with ${points.n} points`);
  const restarts = args.restarts ?? 4;
  return {
    k,
    seeds: Array.from({ length: restarts }, () => rng.int(0, 2 ** 31)),
    maxIterations: args.maxIterations ?? 300,
    tolerance: scaledTolerance(points, args.tolerance ?? 1e-4),
  };
}

/**
 * One restart of a plan (its `index`-th seed). Each restart has a random stream of its own, so running them on
 * several threads gives exactly what running them in turn gives.
 */
export function runRestart(points: Points, plan: RestartPlan, index: number): KMeansResult {
  return lloyd(points, plan.k, createRng(plan.seeds[index]!, index, 7), plan.maxIterations, plan.tolerance);
}

/** The restart with the least inertia; the earliest on a tie, whatever order they finished in. */
export function bestRestart(results: readonly KMeansResult[]): KMeansResult {
  let best = results[0]!;
  for (const r of results) if (r.inertia < best.inertia) best = r;
  return best;
}

/**
 * k-means (Lloyd) with k-means++ seeding, restarted `restarts` times; the run with the least inertia wins.
 * Deterministic for a given `rng` state. `kMeansParallel` (kmeans-parallel.ts) gives the same result on several threads.
 *
 * @example
 * const fit = kMeans({ points: { data, n, d: 3 }, k: 8, rng: createRng(1, 0) });
 */
export function kMeans(args: KMeansArgs): KMeansResult {
  const plan = planRestarts(args);
  return bestRestart(plan.seeds.map((_, i) => runRestart(args.points, plan, i)));
}

/**
 * The mean silhouette coefficient (Rousseeuw 1987) of a clustering: for each point, (b − a) / max(a, b) with a its
 * mean distance to its own cluster and b the least mean distance to another cluster; 0 for points alone in their
 * cluster. O(n²): callers pass a sample.
 */
export function silhouette(points: Points, assignment: Int32Array, k: number): number {
  const { data, n, d } = points;
  const sizes = new Float64Array(k);
  for (let i = 0; i < n; i++) sizes[assignment[i]!] = sizes[assignment[i]!]! + 1;
  const sumTo = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sumTo.fill(0);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const c = assignment[j]!;
      sumTo[c] = sumTo[c]! + Math.sqrt(squaredDistance(data, i * d, data, j * d, d));
    }
    const own = assignment[i]!;
    if (sizes[own]! <= 1) continue;
    const a = sumTo[own]! / (sizes[own]! - 1);
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, sumTo[c]! / sizes[c]!);
    if (Number.isFinite(b) && Math.max(a, b) > 0) total += (b - a) / Math.max(a, b);
  }
  return total / n;
}
