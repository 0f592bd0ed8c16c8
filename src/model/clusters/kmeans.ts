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

/**
 * Points per chunk. Every pass over the points runs chunk by chunk, each chunk writing its own partial results
 * (totals, sums), which are then added in chunk order: the chunks are the units threads share out
 * (kmeans-parallel.ts), and because their size does not depend on the number of threads, neither does any sum.
 * Small enough that the thread finishing a pass last finishes soon after the other (123 chunks per pass on 1M points;
 * 8,192 beat 32,768 on a loaded 2-core machine, where a thread descheduled mid-chunk holds up the pass).
 */
export const CHUNK_SIZE = 1 << 13;

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
 * The working arrays of a fit, reused by each restart in turn. Only typed arrays and numbers, so that a worker thread
 * given it (in shared memory) works on the same arrays: the passes over chunks read and write the per-point arrays
 * and the chunks' results; the rest (sums, counts, the centroids' update) is the lead thread's, between passes.
 *
 * Each pass over the points is a function of its own, called once per chunk: V8 then optimises each hot loop with
 * the type feedback of its earlier calls. As one large function, its first loops were compiled on stack replacement
 * before the later loops had run, and left optimised code several times on "insufficient type feedback" (seen with
 * --trace-deopt), costing most of a restart.
 */
export interface KMeansState {
  data: Float64Array;
  n: number;
  d: number;
  k: number;
  chunkSize: number;
  chunks: number;
  centroids: Float64Array;
  /** The cluster of each point. */
  assignment: Int32Array;
  /**
   * Per point, an upper bound on the distance to its own centroid, stored less that centroid's drift (during seeding:
   * the squared distance to the nearest centre so far). The bound is `upper[i] + drift[assignment[i]]`.
   */
  upper: Float64Array;
  /**
   * Per point, a lower bound on the distance to any other centroid, stored plus the largest drift (during seeding: the
   * second least squared distance so far). The bound is `lower[i] - maxDrift[0]`.
   */
  lower: Float64Array;
  /**
   * How far each centroid has moved in total, one update after another. Bounds are stored relative to these totals,
   * so a point the bounds settle costs reads only: without them every pass wrote both bounds of every point, and
   * settled points are most points (about 70% per pass on 1M RFM-like rows, k = 8).
   */
  drift: Float64Array;
  /** [0]: the sum over updates of the largest move; no other centroid came nearer to any point than that. */
  maxDrift: Float64Array;
  /** Half the distance from each centroid to its nearest other centroid. */
  half: Float64Array;
  /**
   * The settling test with the drifts folded in, per cluster a: a point of a is settled when `upper[i]` is at most
   * `settleHalf[a]` (half[a] - drift[a]) or `upper[i] - lower[i]` is at most `settleGap[a]` (-maxDrift - drift[a]).
   */
  settleHalf: Float64Array;
  settleGap: Float64Array;
  /** Per chunk, the pass's total: Σ squared distances while seeding, points changed, inertia. */
  chunkTotals: Float64Array;
  /** Per chunk, k × d coordinate sums (after seeding) or their changes (after an assignment pass). */
  chunkSums: Float64Array;
  /** Per chunk, k counts or their changes. */
  chunkCounts: Float64Array;
  sums: Float64Array;
  counts: Float64Array;
  previous: Float64Array;
}

/** The working arrays for k-means on these points, in shared memory when worker threads are to share them. */
export function newKMeansState(
  points: Points,
  k: number,
  shared: boolean,
  chunkSize = CHUNK_SIZE,
): KMeansState {
  const { data, n, d } = points;
  const f64 = (length: number) =>
    shared ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
  const chunks = Math.ceil(n / chunkSize);
  return {
    data,
    n,
    d,
    k,
    chunkSize,
    chunks,
    centroids: f64(k * d),
    assignment: shared ? new Int32Array(new SharedArrayBuffer(n * 4)) : new Int32Array(n),
    upper: f64(n),
    lower: f64(n),
    drift: f64(k),
    maxDrift: f64(1),
    half: f64(k),
    settleHalf: f64(k),
    settleGap: f64(k),
    chunkTotals: f64(chunks),
    chunkSums: f64(chunks * k * d),
    chunkCounts: f64(chunks * k),
    sums: f64(k * d),
    counts: f64(k),
    previous: f64(k * d),
  };
}

/** The passes over the points, by number (what the lead thread tells the others to run). */
export const PASS = { seedFirst: 0, seedNext: 1, bounds: 2, assign: 3, final: 4 } as const;

/** One chunk of one pass; `arg` is the new centre's index for `seedNext`. */
export function runPass(s: KMeansState, pass: number, arg: number, chunk: number): void {
  const from = chunk * s.chunkSize;
  const to = Math.min(s.n, from + s.chunkSize);
  if (pass === PASS.seedFirst) seedFirst(s, from, to, chunk);
  else if (pass === PASS.seedNext) seedNext(s, arg, from, to, chunk);
  else if (pass === PASS.bounds) boundsAndSums(s, from, to, chunk);
  else if (pass === PASS.assign && s.d === 3) assignPass3(s, from, to, chunk);
  else if (pass === PASS.assign) assignPass(s, from, to, chunk);
  else if (pass === PASS.final) finalPass(s, from, to, chunk);
  else throw new Error(`k-means: no pass ${pass}`);
}

/** Runs a pass over every chunk: in turn on this thread, or shared out among threads (kmeans-parallel.ts). */
export type PassRunner = (pass: number, arg: number) => void;

/** Every chunk in turn, on this thread. */
export function singleThread(s: KMeansState): PassRunner {
  return (pass, arg) => {
    for (let chunk = 0; chunk < s.chunks; chunk++) runPass(s, pass, arg, chunk);
  };
}

/** Σ of the chunks' totals, in chunk order. */
function sumTotals(s: KMeansState): number {
  let total = 0;
  for (let chunk = 0; chunk < s.chunks; chunk++) total += s.chunkTotals[chunk]!;
  return total;
}

/** The chunks' sums and counts (or their changes) added to the clusters', in chunk order. */
function addChunkSums(s: KMeansState): void {
  const { k, d, chunks, chunkSums, chunkCounts, sums, counts } = s;
  for (let chunk = 0; chunk < chunks; chunk++) {
    for (let j = 0; j < k * d; j++) sums[j] = sums[j]! + chunkSums[chunk * k * d + j]!;
    for (let c = 0; c < k; c++) counts[c] = counts[c]! + chunkCounts[chunk * k + c]!;
  }
}

/** Squared distances of a chunk's points to centroid 0, which all points take for now; their sum is the chunk's total. */
function seedFirst(s: KMeansState, from: number, to: number, chunk: number): void {
  const { data, d, centroids, assignment, upper, lower } = s;
  let total = 0;
  for (let i = from; i < to; i++) {
    const dist = squaredDistance(data, i * d, centroids, 0, d);
    upper[i] = dist;
    lower[i] = Number.POSITIVE_INFINITY;
    assignment[i] = 0;
    total += dist;
  }
  s.chunkTotals[chunk] = total;
}

/**
 * Squared distances of a chunk's points to the new centroid c: the nearest and second-nearest so far are kept, so
 * when the last centroid is placed every point already knows both (ties to the lower index, as a search over the
 * centroids in order finds them) and the first assignment costs nothing more. The chunk's total is Σ of nearest
 * distances.
 */
function seedNext(s: KMeansState, c: number, from: number, to: number, chunk: number): void {
  const { data, d, centroids, assignment, upper, lower } = s;
  const at = c * d;
  let total = 0;
  for (let i = from; i < to; i++) {
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
  s.chunkTotals[chunk] = total;
}

/**
 * The point drawn with probability proportional to its squared distance to the nearest centroid so far: whole chunks
 * are passed over by their totals, and the point found in its chunk as a scan from the chunk's first point finds it.
 */
function drawProportional(s: KMeansState, total: number, rng: Rng): number {
  const { n, upper, chunks, chunkSize, chunkTotals } = s;
  if (!(total > 0)) return rng.int(0, n); // every point coincides with a centre already
  let target = rng.float() * total;
  for (let chunk = 0; chunk < chunks; chunk++) {
    if (target >= chunkTotals[chunk]! && chunk < chunks - 1) {
      target -= chunkTotals[chunk]!;
      continue;
    }
    // Rounding may leave a sliver of the target past the chunk's last point: the scan then goes on to the next.
    const to = Math.min(n, (chunk + 1) * chunkSize);
    for (let i = chunk * chunkSize; i < to; i++) {
      target -= upper[i]!;
      if (target < 0) return i;
    }
  }
  return n - 1;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre uniformly at random, each next one with
 * probability proportional to the squared distance to the nearest centre chosen so far. Leaves each point assigned
 * to its nearest centre, with the distances to the nearest and second nearest as Hamerly's bounds, and the clusters'
 * sums and counts taken.
 */
function seed(s: KMeansState, run: PassRunner, rng: Rng): void {
  const { data, n, d, k, centroids } = s;
  const first = rng.int(0, n);
  centroids.set(data.subarray(first * d, first * d + d), 0);
  run(PASS.seedFirst, 0);
  for (let c = 1; c < k; c++) {
    const chosen = drawProportional(s, sumTotals(s), rng);
    centroids.set(data.subarray(chosen * d, chosen * d + d), c * d);
    run(PASS.seedNext, c);
  }
  run(PASS.bounds, 0);
  s.sums.fill(0);
  s.counts.fill(0);
  addChunkSums(s);
}

/** A chunk's squared distances become distances, and its count and coordinate sums per cluster are taken. */
function boundsAndSums(s: KMeansState, from: number, to: number, chunk: number): void {
  const { data, d, k, assignment, upper, lower, chunkSums, chunkCounts } = s;
  const sumsAt = chunk * k * d;
  const countsAt = chunk * k;
  chunkSums.fill(0, sumsAt, sumsAt + k * d);
  chunkCounts.fill(0, countsAt, countsAt + k);
  for (let i = from; i < to; i++) {
    upper[i] = Math.sqrt(upper[i]!);
    lower[i] = Math.sqrt(lower[i]!);
    const c = assignment[i]!;
    chunkCounts[countsAt + c] = chunkCounts[countsAt + c]! + 1;
    const at = sumsAt + c * d;
    for (let j = 0; j < d; j++) chunkSums[at + j] = chunkSums[at + j]! + data[i * d + j]!;
  }
}

/** An empty cluster takes the point farthest from its centroid (by its upper bound); every bound is then void. */
function refillEmpty(s: KMeansState): void {
  const { data, n, d, k, assignment, upper, lower, sums, counts, drift } = s;
  for (let c = 0; c < k; c++) {
    if (counts[c] !== 0) continue;
    let far = 0;
    let farBound = upper[0]! + drift[assignment[0]!]!;
    for (let i = 1; i < n; i++) {
      const bound = upper[i]! + drift[assignment[i]!]!;
      if (bound > farBound) {
        far = i;
        farBound = bound;
      }
    }
    const from = assignment[far]!;
    counts[from] = counts[from]! - 1;
    counts[c] = 1;
    for (let j = 0; j < d; j++) {
      sums[from * d + j] = sums[from * d + j]! - data[far * d + j]!;
      sums[c * d + j] = data[far * d + j]!;
    }
    assignment[far] = c;
    upper[far] = -drift[c]!; // 0 from its new centroid, which is the point itself
    lower.fill(s.maxDrift[0]!); // 0 for every point: all are searched next pass
  }
}

/** Centroids to their clusters' means; returns the total squared shift, and adds each centroid's move to its drift. */
function moveCentroids(s: KMeansState): number {
  const { d, k, centroids, previous, sums, counts, drift } = s;
  previous.set(centroids);
  refillEmpty(s);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) centroids[c * d + j] = sums[c * d + j]! / counts[c]!;
  }
  let shift = 0;
  let most = 0;
  for (let c = 0; c < k; c++) {
    const sq = squaredDistance(centroids, c * d, previous, c * d, d);
    shift += sq;
    const moved = Math.sqrt(sq);
    drift[c] = drift[c]! + moved;
    most = Math.max(most, moved);
  }
  s.maxDrift[0] = s.maxDrift[0]! + most;
  return shift;
}

/**
 * Half the distance from each centroid to its nearest other (a point nearer than that to its own is settled), and
 * the settling test's thresholds per cluster.
 */
function halfDistances(s: KMeansState): void {
  const { d, k, centroids, half, drift, settleHalf, settleGap } = s;
  for (let c = 0; c < k; c++) {
    let nearestOther = Number.POSITIVE_INFINITY;
    for (let o = 0; o < k; o++) {
      if (o !== c)
        nearestOther = Math.min(nearestOther, squaredDistance(centroids, c * d, centroids, o * d, d));
    }
    half[c] = Math.sqrt(nearestOther) / 2;
    settleHalf[c] = half[c]! - drift[c]!;
    settleGap[c] = -s.maxDrift[0]! - drift[c]!;
  }
}

/** This thread's list of the points of a chunk that the bounds do not settle. */
let openPoints = new Int32Array(0);
function openList(size: number): Int32Array {
  if (openPoints.length < size) openPoints = new Int32Array(size);
  return openPoints;
}
/** This thread's squared distances of the listed points to their own centroids. */
let ownDistances = new Float64Array(0);
function ownList(size: number): Float64Array {
  if (ownDistances.length < size) ownDistances = new Float64Array(size);
  return ownDistances;
}

/**
 * One assignment pass over a chunk with Hamerly's bounds (Hamerly 2010): a point's bounds, moved by the centroids'
 * drifts since they were stored, settle it when the distance to its own centroid cannot exceed the distance to any
 * other; only the other points look at the centroids. The chunk's total is how many points changed cluster, and its
 * sums and counts are the changes those moves make. The bound on other centroids moves by the largest move of any
 * (Hamerly takes the second largest for points of the centroid that moved most; that needs a write per point per
 * pass).
 */
function assignPass(s: KMeansState, from: number, to: number, chunk: number): void {
  const { data, d, k, centroids, assignment, upper, lower, drift, half, settleHalf, settleGap } = s;
  const { chunkSums, chunkCounts } = s;
  const maxDrift = s.maxDrift[0]!;
  const sumsAt = chunk * k * d;
  const countsAt = chunk * k;
  chunkSums.fill(0, sumsAt, sumsAt + k * d);
  chunkCounts.fill(0, countsAt, countsAt + k);
  let changed = 0;
  // First the points the bounds do not settle, listed without a branch (settled or not mixes unpredictably: a branch
  // per test cost about 11% of a fit's CPU time on 1M RFM-like rows, one branch for both 7% more), then those alone.
  const open = openList(to - from);
  let opened = 0;
  for (let i = from; i < to; i++) {
    const a = assignment[i]!;
    const up = upper[i]!;
    open[opened] = i;
    opened += 1 - (+(up <= settleHalf[a]!) | +(up - lower[i]! <= settleGap[a]!));
  }
  for (let o = 0; o < opened; o++) {
    const i = open[o]!;
    const a = assignment[i]!;
    const bound = Math.max(half[a]!, lower[i]! - maxDrift);
    const at = i * d;
    const own = squaredDistance(data, at, centroids, a * d, d);
    const u = Math.sqrt(own);
    upper[i] = u - drift[a]!;
    if (u <= bound) continue;
    // The two nearest centroids, in order (ties to the lower index), from the own centroid's distance known already.
    let best = a;
    let d1 = own;
    let d2 = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      if (c === a) continue;
      const dist = squaredDistance(data, at, centroids, c * d, d);
      if (dist < d1 || (dist === d1 && c < best)) {
        d2 = d1;
        d1 = dist;
        best = c;
      } else if (dist < d2) {
        d2 = dist;
      }
    }
    upper[i] = Math.sqrt(d1) - drift[best]!;
    lower[i] = Math.sqrt(d2) + maxDrift;
    if (best !== a) {
      changed++;
      assignment[i] = best;
      chunkCounts[countsAt + a] = chunkCounts[countsAt + a]! - 1;
      chunkCounts[countsAt + best] = chunkCounts[countsAt + best]! + 1;
      for (let j = 0; j < d; j++) {
        const sa = sumsAt + a * d + j;
        const sb = sumsAt + best * d + j;
        chunkSums[sa] = chunkSums[sa]! - data[at + j]!;
        chunkSums[sb] = chunkSums[sb]! + data[at + j]!;
      }
    }
  }
  s.chunkTotals[chunk] = changed;
}

/**
 * assignPass for three columns (RFM-like tables): the distances unrolled, the point read once per search, and the
 * open points listed again (without a branch) once their own distance is known, so the search runs over a list of
 * its own: the own distance settles about half the open points, as unpredictably (3% less CPU time on 1M rows).
 */
function assignPass3(s: KMeansState, from: number, to: number, chunk: number): void {
  const { data, k, centroids, assignment, upper, lower, drift, half, settleHalf, settleGap } = s;
  const { chunkSums, chunkCounts } = s;
  const maxDrift = s.maxDrift[0]!;
  const sumsAt = chunk * k * 3;
  const countsAt = chunk * k;
  chunkSums.fill(0, sumsAt, sumsAt + k * 3);
  chunkCounts.fill(0, countsAt, countsAt + k);
  let changed = 0;
  // The points the bounds do not settle listed first, as in assignPass.
  const open = openList(to - from);
  let opened = 0;
  for (let i = from; i < to; i++) {
    const a = assignment[i]!;
    const up = upper[i]!;
    open[opened] = i;
    opened += 1 - (+(up <= settleHalf[a]!) | +(up - lower[i]! <= settleGap[a]!));
  }
  let searched = 0;
  const owns = ownList(to - from);
  for (let o = 0; o < opened; o++) {
    const i = open[o]!;
    const a = assignment[i]!;
    const bound = Math.max(half[a]!, lower[i]! - maxDrift);
    const at = i * 3;
    const ca = a * 3;
    const e0 = data[at]! - centroids[ca]!;
    const e1 = data[at + 1]! - centroids[ca + 1]!;
    const e2 = data[at + 2]! - centroids[ca + 2]!;
    const own = e0 * e0 + e1 * e1 + e2 * e2;
    const u = Math.sqrt(own);
    upper[i] = u - drift[a]!;
    open[searched] = i;
    owns[searched] = own;
    searched += +(u > bound);
  }
  for (let o = 0; o < searched; o++) {
    const i = open[o]!;
    const a = assignment[i]!;
    const own = owns[o]!;
    const at = i * 3;
    const x0 = data[at]!;
    const x1 = data[at + 1]!;
    const x2 = data[at + 2]!;
    // The search starts from the own centroid's distance, known already (the same arithmetic as below, so the same
    // value); ties still go to the lower index.
    let best = a;
    let d1 = own;
    let d2 = Number.POSITIVE_INFINITY;
    for (let c = 0, cc = 0; c < k; c++, cc += 3) {
      if (c === a) continue;
      const f0 = x0 - centroids[cc]!;
      const f1 = x1 - centroids[cc + 1]!;
      const f2 = x2 - centroids[cc + 2]!;
      const dist = f0 * f0 + f1 * f1 + f2 * f2;
      if (dist < d1 || (dist === d1 && c < best)) {
        d2 = d1;
        d1 = dist;
        best = c;
      } else if (dist < d2) {
        d2 = dist;
      }
    }
    upper[i] = Math.sqrt(d1) - drift[best]!;
    lower[i] = Math.sqrt(d2) + maxDrift;
    if (best !== a) {
      changed++;
      assignment[i] = best;
      chunkCounts[countsAt + a] = chunkCounts[countsAt + a]! - 1;
      chunkCounts[countsAt + best] = chunkCounts[countsAt + best]! + 1;
      const sa = sumsAt + a * 3;
      const sb = sumsAt + best * 3;
      chunkSums[sa] = chunkSums[sa]! - x0;
      chunkSums[sa + 1] = chunkSums[sa + 1]! - x1;
      chunkSums[sa + 2] = chunkSums[sa + 2]! - x2;
      chunkSums[sb] = chunkSums[sb]! + x0;
      chunkSums[sb + 1] = chunkSums[sb + 1]! + x1;
      chunkSums[sb + 2] = chunkSums[sb + 2]! + x2;
    }
  }
  s.chunkTotals[chunk] = changed;
}

/**
 * The final assignment of a chunk to the final centroids, and its inertia (the chunk's total), exactly: each point's
 * distance to its own centroid is computed (the inertia needs it), and the other centroids are searched only when
 * the bounds, moved by the centroids' drifts, do not prove every other centroid farther. The check is strict with a
 * relative margin of 1e-12 against rounding in the bounds, so the result is the full search's, ties to the lower
 * index included.
 */
function finalPass(s: KMeansState, from: number, to: number, chunk: number): void {
  const { data, d, k, centroids, assignment, lower, half } = s;
  const maxDrift = s.maxDrift[0]!;
  let inertia = 0;
  for (let i = from; i < to; i++) {
    const a = assignment[i]!;
    const at = i * d;
    const own = squaredDistance(data, at, centroids, a * d, d);
    if (Math.sqrt(own) < Math.max(half[a]!, lower[i]! - maxDrift) * (1 - 1e-12)) {
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
  s.chunkTotals[chunk] = inertia;
}

/**
 * One restart: Lloyd's iterations from k-means++ seeds, accelerated with Hamerly's bounds (Hamerly 2010, "Making
 * k-means even faster"): each point keeps an upper bound on the distance to its centroid and a lower bound on the
 * distance to any other, so most points are settled without computing a distance once the centroids slow down. The
 * result is the same as plain Lloyd's. Stops when no point changes cluster or the centroids moved less than
 * `tolerance` in total (sum of squared shifts, as scikit-learn's `tol` scaled by the data's mean variance), then
 * assigns every point to the final centroids (as scikit-learn's last E-step). Leaves the centroids and assignment in
 * `s`; typed arrays throughout, no allocation per point.
 */
function lloyd(
  s: KMeansState,
  run: PassRunner,
  rng: Rng,
  maxIterations: number,
  tolerance: number,
): { inertia: number; iterations: number } {
  s.drift.fill(0);
  s.maxDrift[0] = 0;
  seed(s, run, rng);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const shift = moveCentroids(s);
    halfDistances(s);
    if (shift <= tolerance) {
      iterations++;
      break;
    }
    run(PASS.assign, 0);
    addChunkSums(s);
    if (sumTotals(s) === 0) {
      iterations++;
      break;
    }
  }
  run(PASS.final, 0);
  return { inertia: sumTotals(s), iterations };
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

/** What the restarts need besides the points. */
export interface RestartPlan {
  k: number;
  /** One seed per restart, drawn up front so a restart's result does not depend on the restarts before it. */
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
  /** Points per chunk (default `CHUNK_SIZE`): sums are taken per chunk, so the last bits of a result depend on it. */
  chunkSize?: number;
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
 * One restart of a plan (its `index`-th seed), on this thread with arrays of its own. Each restart has a random
 * stream of its own, so its result does not depend on the restarts run before it.
 */
export function runRestart(
  points: Points,
  plan: RestartPlan,
  index: number,
  chunkSize = CHUNK_SIZE,
): KMeansResult {
  const s = newKMeansState(points, plan.k, false, chunkSize);
  const { inertia, iterations } = lloyd(
    s,
    singleThread(s),
    createRng(plan.seeds[index]!, index, 7),
    plan.maxIterations,
    plan.tolerance,
  );
  return { k: plan.k, centroids: s.centroids, assignment: s.assignment, inertia, iterations };
}

/**
 * Every restart of a plan in turn on the same working arrays, each pass run by `run`; the restart with the least
 * inertia wins (the earliest on a tie). Its centroids and assignment are copied out of the shared arrays.
 */
export function fitRestarts(s: KMeansState, plan: RestartPlan, run: PassRunner): KMeansResult {
  let best: KMeansResult | null = null;
  plan.seeds.forEach((seed, index) => {
    const fit = lloyd(s, run, createRng(seed, index, 7), plan.maxIterations, plan.tolerance);
    if (best === null || fit.inertia < best.inertia) {
      best = { k: plan.k, centroids: s.centroids.slice(), assignment: s.assignment.slice(), ...fit };
    }
  });
  if (best === null) throw new Error('k-means: no restarts');
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
  const s = newKMeansState(args.points, args.k, false, args.chunkSize);
  return fitRestarts(s, plan, singleThread(s));
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
