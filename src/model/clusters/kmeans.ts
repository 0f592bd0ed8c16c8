import type { Rng } from '../../shared/seeded-random.js';

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

/** Lloyd's iterations from k-means++ seeds until no point changes cluster. */
function lloyd(points: Points, k: number, rng: Rng, maxIterations: number): KMeansResult {
  const { data, n, d } = points;
  const centroids = seed(points, k, rng);
  const assignment = new Int32Array(n).fill(-1);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const distances = new Float64Array(n);
  let iterations = 0;
  let inertia = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      const [c, dist] = nearest(points, i, centroids, k);
      distances[i] = dist;
      inertia += dist;
      if (assignment[i] !== c) {
        assignment[i] = c;
        changed++;
      }
    }
    if (changed === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignment[i]!;
      counts[c] = counts[c]! + 1;
      for (let j = 0; j < d; j++) sums[c * d + j] = sums[c * d + j]! + data[i * d + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        // An empty cluster takes the point farthest from its centroid, so k clusters survive.
        let far = 0;
        for (let i = 1; i < n; i++) if (distances[i]! > distances[far]!) far = i;
        centroids.set(data.subarray(far * d, far * d + d), c * d);
        distances[far] = 0;
        continue;
      }
      for (let j = 0; j < d; j++) centroids[c * d + j] = sums[c * d + j]! / counts[c]!;
    }
  }
  return { k, centroids, assignment, inertia, iterations };
}

/**
 * k-means (Lloyd) with k-means++ seeding, restarted `restarts` times from the same random stream; the run with the
 * least inertia wins. Deterministic for a given `rng` state.
 */
export function kMeans(args: {
  points: Points;
  k: number;
  rng: Rng;
  restarts?: number;
  maxIterations?: number;
}): KMeansResult {
  const { points, k, rng } = args;
  if (k < 1 || k > points.n) throw new Error(`k-means: k = ${k} with ${points.n} points`);
  let best: KMeansResult | null = null;
  for (let r = 0; r < (args.restarts ?? 4); r++) {
    const run = lloyd(points, k, rng, args.maxIterations ?? 300);
    if (!best || run.inertia < best.inertia) best = run;
  }
  return best!;
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
