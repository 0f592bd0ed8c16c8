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
 * One restart's working arrays. Each pass over the points below is a function of its own, called once per pass: V8
 * then optimises each hot loop with the type feedback of its earlier calls. As one large function, its first loops
 * were compiled on stack replacement before the later loops had run, and left optimised code several times on
 * "insufficient type feedback" (seen with --trace-deopt), costing most of a restart.
 */
interface Lloyd {
  data: Float64Array;
  n: number;
  d: number;
  k: number;
  centroids: Float64Array;
  /** The cluster of each point. */
  assignment: Int32Array;
  /** Per point, an upper bound on the distance to its own centroid (during seeding: that distance, squared). */
  upper: Float64Array;
  /** Per point, a lower bound on the distance to any other centroid (during seeding: the second least, squared). */
  lower: Float64Array;
  sums: Float64Array;
  counts: Float64Array;
  previous: Float64Array;
  /** How far each centroid moved in the last update. */
  moved: Float64Array;
  /** Half the distance from each centroid to its nearest other centroid. */
  half: Float64Array;
  /** The largest move, its centroid, and the second largest (Hamerly's update of the lower bounds). */
  most: number;
  mostAt: number;
  second: number;
}

function newLloyd(points: Points, k: number): Lloyd {
  const { data, n, d } = points;
  return {
    data,
    n,
    d,
    k,
    centroids: new Float64Array(k * d),
    assignment: new Int32Array(n),
    upper: new Float64Array(n),
    lower: new Float64Array(n),
    sums: new Float64Array(k * d),
    counts: new Float64Array(k),
    previous: new Float64Array(k * d),
    moved: new Float64Array(k),
    half: new Float64Array(k),
    most: 0,
    mostAt: -1,
    second: 0,
  };
}

/** Squared distances of every point to centroid 0, which all points take for now; returns their sum. */
function seedFirst(s: Lloyd): number {
  const { data, n, d, centroids, assignment, upper, lower } = s;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const dist = squaredDistance(data, i * d, centroids, 0, d);
    upper[i] = dist;
    lower[i] = Number.POSITIVE_INFINITY;
    assignment[i] = 0;
    total += dist;
  }
  return total;
}

/**
 * Squared distances of every point to the new centroid c: the nearest and second-nearest so far are kept, so when
 * the last centroid is placed every point already knows both (ties to the lower index, as a search over the
 * centroids in order finds them) and the first assignment costs nothing more. Returns Σ of nearest distances.
 */
function seedNext(s: Lloyd, c: number): number {
  const { data, n, d, centroids, assignment, upper, lower } = s;
  const at = c * d;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const dist = squaredDistance(data, i * d, centroids, at, d);
    const d1 = upper[i]!;
    if (dist < d1) {
      lower[i] = d1;
      upper[i] = dist;
      assignment[i] = c;
    } else if (dist < lower[i]!) {
      lower[i] = dist;
    }
    total += upper[i]!;
  }
  return total;
}

/** The point drawn with probability proportional to its squared distance to the nearest centroid so far. */
function drawProportional(s: Lloyd, total: number, rng: Rng): number {
  const { n, upper } = s;
  if (!(total > 0)) return rng.int(0, n); // every point coincides with a centre already
  let target = rng.float() * total;
  for (let i = 0; i < n; i++) {
    target -= upper[i]!;
    if (target < 0) return i;
  }
  return n - 1;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre uniformly at random, each next one with
 * probability proportional to the squared distance to the nearest centre chosen so far. Leaves each point assigned
 * to its nearest centre, with the distances to the nearest and second nearest as Hamerly's bounds.
 */
function seed(s: Lloyd, rng: Rng): void {
  const { data, n, d, k, centroids } = s;
  const first = rng.int(0, n);
  centroids.set(data.subarray(first * d, first * d + d), 0);
  let total = seedFirst(s);
  for (let c = 1; c < k; c++) {
    const chosen = drawProportional(s, total, rng);
    centroids.set(data.subarray(chosen * d, chosen * d + d), c * d);
    total = seedNext(s, c);
  }
  boundsAndSums(s);
}

/** Squared distances become distances, and each cluster's count and coordinate sums are taken. */
function boundsAndSums(s: Lloyd): void {
  const { data, n, d, assignment, upper, lower, sums, counts } = s;
  for (let i = 0; i < n; i++) {
    upper[i] = Math.sqrt(upper[i]!);
    lower[i] = Math.sqrt(lower[i]!);
    const c = assignment[i]!;
    counts[c] = counts[c]! + 1;
    for (let j = 0; j < d; j++) sums[c * d + j] = sums[c * d + j]! + data[i * d + j]!;
  }
}

/** An empty cluster takes the point farthest from its centroid (by its upper bound); every bound is then void. */
function refillEmpty(s: Lloyd): void {
  const { data, n, d, k, assignment, upper, lower, sums, counts } = s;
  for (let c = 0; c < k; c++) {
    if (counts[c] !== 0) continue;
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
    lower.fill(0); // recompute all next pass
  }
}

/** Centroids to their clusters' means; returns the total squared shift, and notes each centroid's move. */
function moveCentroids(s: Lloyd): number {
  const { d, k, centroids, previous, sums, counts, moved } = s;
  previous.set(centroids);
  refillEmpty(s);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) centroids[c * d + j] = sums[c * d + j]! / counts[c]!;
  }
  let shift = 0;
  s.most = 0;
  s.mostAt = -1;
  s.second = 0;
  for (let c = 0; c < k; c++) {
    const sq = squaredDistance(centroids, c * d, previous, c * d, d);
    shift += sq;
    moved[c] = Math.sqrt(sq);
    if (moved[c]! > s.most) {
      s.second = s.most;
      s.most = moved[c]!;
      s.mostAt = c;
    } else if (moved[c]! > s.second) {
      s.second = moved[c]!;
    }
  }
  return shift;
}

/** Half the distance from each centroid to its nearest other: a point nearer than that to its own is settled. */
function halfDistances(s: Lloyd): void {
  const { d, k, centroids, half } = s;
  for (let c = 0; c < k; c++) {
    let nearestOther = Number.POSITIVE_INFINITY;
    for (let o = 0; o < k; o++) {
      if (o !== c)
        nearestOther = Math.min(nearestOther, squaredDistance(centroids, c * d, centroids, o * d, d));
    }
    half[c] = Math.sqrt(nearestOther) / 2;
  }
}

/**
 * One assignment pass with Hamerly's bounds (Hamerly 2010): move each point's bounds by the centroids' moves, and
 * look at the centroids only for points whose bounds no longer settle them. Returns how many points changed cluster
 * (sums and counts follow each change).
 */
/** assignPass for three columns (RFM-like tables): the distances unrolled, the centroids read once per search. */
function assignPass3(s: Lloyd): number {
  const { data, n, k, centroids, assignment, upper, lower, sums, counts, moved, half, most, mostAt, second } =
    s;
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const a = assignment[i]!;
    let u = upper[i]! + moved[a]!;
    const l = lower[i]! - (a === mostAt ? second : most);
    lower[i] = l;
    const bound = Math.max(half[a]!, l);
    if (u <= bound) {
      upper[i] = u;
      continue;
    }
    const at = i * 3;
    const x0 = data[at]!;
    const x1 = data[at + 1]!;
    const x2 = data[at + 2]!;
    const ca = a * 3;
    const e0 = x0 - centroids[ca]!;
    const e1 = x1 - centroids[ca + 1]!;
    const e2 = x2 - centroids[ca + 2]!;
    u = Math.sqrt(e0 * e0 + e1 * e1 + e2 * e2);
    upper[i] = u;
    if (u <= bound) continue;
    let best = 0;
    let d1 = Number.POSITIVE_INFINITY;
    let d2 = Number.POSITIVE_INFINITY;
    for (let c = 0, cc = 0; c < k; c++, cc += 3) {
      const f0 = x0 - centroids[cc]!;
      const f1 = x1 - centroids[cc + 1]!;
      const f2 = x2 - centroids[cc + 2]!;
      const dist = f0 * f0 + f1 * f1 + f2 * f2;
      if (dist < d1) {
        d2 = d1;
        d1 = dist;
        best = c;
      } else if (dist < d2) {
        d2 = dist;
      }
    }
    upper[i] = Math.sqrt(d1);
    lower[i] = Math.sqrt(d2);
    if (best !== a) {
      changed++;
      assignment[i] = best;
      counts[a] = counts[a]! - 1;
      counts[best] = counts[best]! + 1;
      const sa = a * 3;
      const sb = best * 3;
      sums[sa] = sums[sa]! - x0;
      sums[sa + 1] = sums[sa + 1]! - x1;
      sums[sa + 2] = sums[sa + 2]! - x2;
      sums[sb] = sums[sb]! + x0;
      sums[sb + 1] = sums[sb + 1]! + x1;
      sums[sb + 2] = sums[sb + 2]! + x2;
    }
  }
  return changed;
}

function assignPass(s: Lloyd): number {
  const {
    data,
    n,
    d,
    k,
    centroids,
    assignment,
    upper,
    lower,
    sums,
    counts,
    moved,
    half,
    most,
    mostAt,
    second,
  } = s;
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const a = assignment[i]!;
    let u = upper[i]! + moved[a]!;
    const l = lower[i]! - (a === mostAt ? second : most);
    lower[i] = l;
    const bound = Math.max(half[a]!, l);
    if (u <= bound) {
      upper[i] = u;
      continue;
    }
    const at = i * d;
    u = Math.sqrt(squaredDistance(data, at, centroids, a * d, d));
    upper[i] = u;
    if (u <= bound) continue;
    // The two nearest centroids, in order (ties to the lower index).
    let best = 0;
    let d1 = Number.POSITIVE_INFINITY;
    let d2 = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const dist = squaredDistance(data, at, centroids, c * d, d);
      if (dist < d1) {
        d2 = d1;
        d1 = dist;
        best = c;
      } else if (dist < d2) {
        d2 = dist;
      }
    }
    upper[i] = Math.sqrt(d1);
    lower[i] = Math.sqrt(d2);
    if (best !== a) {
      changed++;
      assignment[i] = best;
      counts[a] = counts[a]! - 1;
      counts[best] = counts[best]! + 1;
      for (let j = 0; j < d; j++) {
        sums[a * d + j] = sums[a * d + j]! - data[at + j]!;
        sums[best * d + j] = sums[best * d + j]! + data[at + j]!;
      }
    }
  }
  return changed;
}

/**
 * The final assignment to the final centroids and the inertia, exactly: each point's distance to its own centroid
 * is computed (the inertia needs it), and the other centroids are searched only when the bounds, moved by the last
 * update if the centroids moved after the last pass, do not prove every other centroid farther. The check is strict
 * with a relative margin of 1e-12 against rounding in the bounds, so the result is the full search's, ties to the
 * lower index included.
 */
function finalPass(s: Lloyd, movedSinceLastPass: boolean): number {
  const { data, n, d, k, centroids, assignment, lower, half, most, mostAt, second } = s;
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const a = assignment[i]!;
    const at = i * d;
    const own = squaredDistance(data, at, centroids, a * d, d);
    const l = movedSinceLastPass ? lower[i]! - (a === mostAt ? second : most) : lower[i]!;
    if (Math.sqrt(own) < Math.max(half[a]!, l) * (1 - 1e-12)) {
      inertia += own;
      continue;
    }
    let best = 0;
    let d1 = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const dist = squaredDistance(data, at, centroids, c * d, d);
      if (dist < d1) {
        d1 = dist;
        best = c;
      }
    }
    assignment[i] = best;
    inertia += d1;
  }
  return inertia;
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
  const s = newLloyd(points, k);
  seed(s, rng);
  let iterations = 0;
  let movedSinceLastPass = false;
  for (; iterations < maxIterations; iterations++) {
    const shift = moveCentroids(s);
    halfDistances(s);
    if (shift <= tolerance) {
      iterations++;
      movedSinceLastPass = true;
      break;
    }
    if ((s.d === 3 ? assignPass3(s) : assignPass(s)) === 0) {
      iterations++;
      break;
    }
  }
  const inertia = finalPass(s, movedSinceLastPass);
  return { k, centroids: s.centroids, assignment: s.assignment, inertia, iterations };
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

/**
 * The next restart for a thread to run, from a counter in shared memory (kmeans-parallel.ts): each index is taken
 * once, whichever thread asks first; an index ≥ the number of restarts means none is left.
 *
 * @example
 * for (let i = takeRestart(next); i < plan.seeds.length; i = takeRestart(next)) runRestart(points, plan, i);
 */
export function takeRestart(next: Int32Array): number {
  return Atomics.add(next, 0, 1);
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
