import type { SqlValue, Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';
import { createRng, type Rng } from '../../shared/seeded-random.js';
import { kMeans, nearest, type Points, silhouette } from './kmeans.js';
import { kMeansParallel } from './kmeans-parallel.js';

/** A column to cluster on and the words that describe a cluster that is high or low on it. */
export interface ClusterColumn {
  column: string;
  /** e.g. 'frequent' */
  high: string;
  /** e.g. 'infrequent' */
  low: string;
  /** Said when a cluster is near the average on this column; omitted from the label when not given. */
  middle?: string;
}

export interface ClusterOptions {
  columns: readonly ClusterColumn[];
  /** Candidate numbers of clusters, inclusive (default 2..8). */
  kRange?: { min: number; max: number };
  /** Same seed, same rows → same clusters (default 1). */
  seed?: number;
  /** Points the silhouette of each candidate k is computed on (O(s²); default 2,000). */
  silhouetteSample?: number;
  /** Points each candidate k is fitted on before the winner is fitted on all rows (default 20,000). */
  selectionSample?: number;
  /** |standardised centroid| at or above which a column's high/low word applies (default 0.5 standard deviations). */
  threshold?: number;
}

export interface Cluster {
  id: number;
  /** Business words from the centroid, e.g. "frequent, low spend, recent". */
  label: string;
  size: number;
  share: number;
  /** Centroid in the columns' own units. */
  centroid: Record<string, number>;
  /** Centroid in standard deviations from each column's mean. */
  standardized: Record<string, number>;
}

export interface ClusteringResult {
  k: number;
  /** Mean silhouette per candidate k (on the sample), the basis of the choice. */
  silhouetteByK: Record<number, number>;
  clusters: Cluster[];
  /** The cluster id of each input row, in input order. */
  assignment: Int32Array;
  columns: readonly string[];
  means: Float64Array;
  sds: Float64Array;
}

/** Rows as columns of numbers (one Float64Array per chosen column, equal lengths). */
export type ColumnData = Readonly<Record<string, Float64Array>>;

function usage(message: string, hint: string): SegflowError {
  return new SegflowError('USAGE', message, hint);
}

/** z-scores per column; a constant column gets sd 1 so it stays 0 and never divides by zero. */
function standardize(data: ColumnData, columns: readonly string[], n: number) {
  const d = columns.length;
  const means = new Float64Array(d);
  const sds = new Float64Array(d);
  // In shared memory: kMeansParallel's worker threads read the points where they are.
  const points: Points = { data: new Float64Array(new SharedArrayBuffer(n * d * 8)), n, d };
  columns.forEach((name, j) => {
    const v = data[name]!;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += v[i]!;
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (v[i]! - mean) ** 2;
    const sd = Math.sqrt(ss / n) || 1;
    means[j] = mean;
    sds[j] = sd;
    for (let i = 0; i < n; i++) points.data[i * d + j] = (v[i]! - mean) / sd;
  });
  return { points, means, sds };
}

/** A reproducible subset of rows (partial Fisher-Yates on indices). */
function sampleIndices(n: number, size: number, rng: Rng): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const m = Math.min(n, size);
  for (let i = 0; i < m; i++) {
    const j = rng.int(i, n);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, m).sort();
}

function subset(points: Points, rows: Int32Array): Points {
  const { d } = points;
  const data = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    data.set(points.data.subarray(r * d, r * d + d), i * d);
  });
  return { data, n: rows.length, d };
}

function labelOf(z: Float64Array, columns: readonly ClusterColumn[], threshold: number): string {
  const words: string[] = [];
  columns.forEach((c, j) => {
    const v = z[j]!;
    if (v >= threshold) words.push(c.high);
    else if (v <= -threshold) words.push(c.low);
    else if (c.middle) words.push(c.middle);
  });
  return words.length ? words.join(', ') : 'average';
}

/**
 * Clusters of people on chosen columns: standardise each column, fit k-means++ for every k in the range on a sample,
 * keep the k with the highest mean silhouette, fit that k on all rows, and describe each centroid in the caller's
 * words. Deterministic for a given seed and row order.
 */
export async function clusterColumns(data: ColumnData, options: ClusterOptions): Promise<ClusteringResult> {
  const columns = options.columns.map((c) => c.column);
  if (columns.length === 0) throw usage('no columns to cluster on', 'name at least one numeric column');
  const n = data[columns[0]!]?.length ?? 0;
  for (const c of columns) {
    const v = data[c];
    if (!v) throw usage(`column '${c}' is missing`, 'select it in the query, or fix its name');
    if (v.length !== n)
      throw usage(`column '${c}' has ${v.length} values, not ${n}`, 'pass equal-length columns');
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(v[i]!)) {
        throw usage(
          `column '${c}' row ${i} is not a finite number`,
          'fill missing values (coalesce) in the query',
        );
      }
    }
  }
  const kMin = options.kRange?.min ?? 2;
  const kMax = Math.min(options.kRange?.max ?? 8, n);
  if (!(kMin >= 1 && kMin <= kMax)) {
    throw usage(
      `the k range ${kMin}..${options.kRange?.max ?? 8} is empty for ${n} rows`,
      'use 2 ≤ min ≤ max ≤ rows',
    );
  }
  const seed = options.seed ?? 1;
  const threshold = options.threshold ?? 0.5;
  const { points, means, sds } = standardize(data, columns, n);

  // Choose k on a sample: each candidate fitted on up to `selectionSample` rows, judged on a silhouette subsample.
  const selection = subset(
    points,
    sampleIndices(n, options.selectionSample ?? 20_000, createRng(seed, 0, 1)),
  );
  const judged = subset(
    selection,
    sampleIndices(selection.n, options.silhouetteSample ?? 2_000, createRng(seed, 0, 2)),
  );
  const silhouetteByK: Record<number, number> = {};
  let bestK = kMin;
  for (let k = kMin; k <= kMax; k++) {
    if (k === 1) {
      silhouetteByK[k] = 0;
      continue;
    }
    const fit = kMeans({ points: selection, k, rng: createRng(seed, k, 3) });
    const assignment = new Int32Array(judged.n);
    for (let i = 0; i < judged.n; i++) assignment[i] = nearest(judged, i, fit.centroids, k)[0];
    silhouetteByK[k] = silhouette(judged, assignment, k);
    if (silhouetteByK[k]! > silhouetteByK[bestK]!) bestK = k;
  }

  const final = await kMeansParallel({ points, k: bestK, rng: createRng(seed, bestK, 4) });
  const d = columns.length;
  const sizes = new Float64Array(bestK);
  for (let i = 0; i < n; i++) sizes[final.assignment[i]!] = sizes[final.assignment[i]!]! + 1;
  // Number clusters by size (largest first) so ids do not depend on seeding order.
  const order = Array.from({ length: bestK }, (_, c) => c).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const renumber = new Int32Array(bestK);
  order.forEach((c, id) => {
    renumber[c] = id;
  });
  const assignment = final.assignment.map((c) => renumber[c]!);
  const clusters: Cluster[] = order.map((c, id) => {
    const z = final.centroids.slice(c * d, c * d + d);
    const centroid: Record<string, number> = {};
    const standardized: Record<string, number> = {};
    columns.forEach((name, j) => {
      standardized[name] = z[j]!;
      centroid[name] = means[j]! + z[j]! * sds[j]!;
    });
    return {
      id,
      label: labelOf(z, options.columns, threshold),
      size: sizes[c]!,
      share: sizes[c]! / n,
      centroid,
      standardized,
    };
  });
  // Two clusters with the same words are told apart by their rank.
  const seen = new Map<string, number>();
  for (const c of clusters) {
    const count = (seen.get(c.label) ?? 0) + 1;
    seen.set(c.label, count);
    if (count > 1) c.label = `${c.label} (${count})`;
  }
  return { k: bestK, silhouetteByK, clusters, assignment, columns, means, sds };
}

/**
 * Clusters over the rows of a read-only SQL query (later: the feature table). The query must return `idColumn` and
 * every chosen column; anything but a single SELECT is refused (SQL_NOT_READ_ONLY). Samples and k-means++ starts
 * pick rows by position: a query with an ORDER BY gives the same clusters on every engine, one without it may not.
 */
export async function clusterQuery(
  wh: Warehouse,
  args: { sql: string; params?: readonly SqlValue[]; idColumn: string } & ClusterOptions,
): Promise<ClusteringResult & { ids: string[] }> {
  const columns = args.columns.map((c) => c.column);
  const ids: string[] = [];
  const values: number[][] = columns.map(() => []);
  // The query is the caller's text: it runs through the read-only gate (one SELECT, nothing that writes).
  const result = await wh.readOnlyQuery(args.sql, args.params ?? []);
  for (const row of result.rows) {
    if (!(args.idColumn in row)) {
      throw usage(
        `the query returns no '${args.idColumn}' column`,
        'select the person id column in the query',
      );
    }
    ids.push(String(row[args.idColumn]));
    columns.forEach((c, j) => {
      const v = row[c];
      values[j]!.push(v === null || v === undefined ? Number.NaN : Number(v));
    });
  }
  const data: Record<string, Float64Array> = {};
  columns.forEach((c, j) => {
    data[c] = Float64Array.from(values[j]!);
  });
  if (ids.length === 0)
    throw new SegflowError('MODEL_NO_DATA', 'the query returned no rows', 'check its filters');
  return { ...(await clusterColumns(data, args)), ids };
}
