import { SegflowError } from '../../errors.js';
import type { Rng } from '../../generate/random.js';
import type { Design } from './logistic.js';

/**
 * Gradient-boosted decision trees for a binary label, histogram-based as LightGBM and scikit-learn's
 * HistGradientBoostingClassifier are: every feature is cut into at most 255 bins once, each tree is grown leaf-wise
 * (the leaf with the largest gain is split next, up to `maxLeaves`) from per-bin sums of gradients and hessians of the
 * log loss, a child's histogram is the parent's minus its sibling's (only the smaller child is counted), leaves carry
 * Newton steps shrunk by `learningRate` with an L2 penalty, and boosting stops when the log loss on a held-out
 * validation share has not improved for `patience` rounds (the trees after the best round are dropped).
 * Everything is typed arrays; rows live in one index array that each split partitions in place.
 */
export interface GbtOptions {
  learningRate?: number;
  maxIterations?: number;
  maxLeaves?: number;
  /** Limit on depth; default none (leaf-wise growth is bounded by maxLeaves). */
  maxDepth?: number;
  minSamplesLeaf?: number;
  /** L2 penalty on leaf values. */
  l2?: number;
  maxBins?: number;
  /** Share of training rows held out for early stopping (0 turns it off); default 0.1. */
  validationShare?: number;
  patience?: number;
}

export interface GbtModel {
  kind: 'gbt';
  columns: readonly string[];
  /** The log-odds every tree adds to. */
  baseline: number;
  /** All trees' nodes, flat: a node is a leaf when feature < 0. */
  trees: { feature: number[]; threshold: number[]; left: number[]; right: number[]; value: number[] }[];
  /** Total split gain per input (loss reduction), the trees' feature importance. */
  gain: number[];
  options: Required<Omit<GbtOptions, 'maxDepth'>> & { maxDepth: number | null };
  iterations: number;
  /** The validation log loss per round, when early stopping was on. */
  validationLoss: number[];
}

const DEFAULTS = {
  learningRate: 0.1,
  maxIterations: 200,
  maxLeaves: 31,
  minSamplesLeaf: 20,
  l2: 1,
  maxBins: 255,
  validationShare: 0.1,
  patience: 10,
};

/** Upper bin edges per feature: value ≤ edges[b] falls in bin b (the last bin takes everything above). */
function binEdges(col: Float64Array, rows: Uint32Array, maxBins: number): Float64Array {
  const n = rows.length;
  // Quantiles from an evenly spaced sample of at most 50,000 training rows are as good as from all of them.
  const step = Math.max(1, Math.floor(n / 50_000));
  const sorted = new Float64Array(Math.ceil(n / step));
  for (let i = 0, k = 0; i < n; i += step) sorted[k++] = col[rows[i]!]!;
  sorted.sort();
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++)
    if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  const edges: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) edges.push((distinct[i]! + distinct[i + 1]!) / 2);
  } else {
    for (let b = 1; b < maxBins; b++) {
      const q = sorted[Math.floor((b * sorted.length) / maxBins)]!;
      if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
    }
  }
  return Float64Array.from(edges);
}

function binIndex(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  leftG: number;
  leftH: number;
  leftN: number;
}

interface Leaf {
  node: number;
  from: number;
  to: number;
  g: number;
  h: number;
  depth: number;
  hist: Float64Array; // [feature][bin] × (g, h, count)
  split: Split | null;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export function fitGbt(design: Design, rng: Rng, options: GbtOptions = {}): GbtModel {
  const o = { ...DEFAULTS, ...options };
  const maxDepth = options.maxDepth ?? null;
  const nAll = design.labels.length;
  const m = design.columns.length;
  let positives = 0;
  for (let i = 0; i < nAll; i++) positives += design.labels[i]!;
  if (positives === 0 || positives === nAll) {
    throw new SegflowError(
      'MODEL_NO_DATA',
      `every training row has label ${positives === 0 ? 0 : 1}: there is nothing to learn`,
      'give rows with both outcomes',
    );
  }
  // Validation rows for early stopping, drawn at random.
  const isValidation = new Uint8Array(nAll);
  let nVal = 0;
  if (o.validationShare > 0 && nAll * o.validationShare >= 50) {
    for (let i = 0; i < nAll; i++) {
      if (rng.float() < o.validationShare) {
        isValidation[i] = 1;
        nVal++;
      }
    }
  }
  const n = nAll - nVal;
  const trainRows = new Uint32Array(n);
  const valRows = new Uint32Array(nVal);
  for (let i = 0, a = 0, b = 0; i < nAll; i++) {
    if (isValidation[i]) valRows[b++] = i;
    else trainRows[a++] = i;
  }
  // Bins, one Uint8Array per feature: a histogram is counted feature by feature, so that its 255 bins stay in cache.
  const edges = design.values.map((col) => binEdges(col, trainRows, o.maxBins));
  const nb = o.maxBins;
  const bins: Uint8Array[] = [];
  const valBins = new Uint8Array(nVal * m);
  for (let j = 0; j < m; j++) {
    const col = design.values[j]!;
    const e = edges[j]!;
    const b = new Uint8Array(n);
    for (let r = 0; r < n; r++) b[r] = binIndex(e, col[trainRows[r]!]!);
    bins.push(b);
    for (let r = 0; r < nVal; r++) valBins[r * m + j] = binIndex(e, col[valRows[r]!]!);
  }
  const y = Float64Array.from(trainRows, (i) => design.labels[i]!);
  const yVal = Float64Array.from(valRows, (i) => design.labels[i]!);
  let pos = 0;
  for (let r = 0; r < n; r++) pos += y[r]!;
  const baseline = Math.log(Math.max(pos, 0.5) / Math.max(n - pos, 0.5));
  const raw = new Float64Array(n).fill(baseline);
  const rawVal = new Float64Array(nVal).fill(baseline);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const index = new Uint32Array(n);
  const scratch = new Uint32Array(n);
  const treeGains: Float64Array[] = [];
  const trees: GbtModel['trees'] = [];
  const validationLoss: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let bestRound = 0;
  const lambda = o.l2;
  const histSize = m * nb * 3;

  // The node's gradients gathered in row order once, then read sequentially for every feature.
  const orderedG = new Float64Array(n);
  const orderedH = new Float64Array(n);
  const buildHist = (from: number, to: number): Float64Array => {
    const hist = new Float64Array(histSize);
    const count = to - from;
    for (let k = 0; k < count; k++) {
      const r = index[from + k]!;
      orderedG[k] = grad[r]!;
      orderedH[k] = hess[r]!;
    }
    for (let j = 0; j < m; j++) {
      const b = bins[j]!;
      const base = j * nb * 3;
      for (let k = 0; k < count; k++) {
        const at = base + b[index[from + k]!]! * 3;
        hist[at]! += orderedG[k]!;
        hist[at + 1]! += orderedH[k]!;
        hist[at + 2]! += 1;
      }
    }
    return hist;
  };

  const bestSplit = (leaf: Leaf): Split | null => {
    const count = leaf.to - leaf.from;
    if (count < 2 * o.minSamplesLeaf) return null;
    if (maxDepth !== null && leaf.depth >= maxDepth) return null;
    const parentScore = (leaf.g * leaf.g) / (leaf.h + lambda);
    let found: Split | null = null;
    const hist = leaf.hist;
    for (let j = 0; j < m; j++) {
      let gl = 0;
      let hl = 0;
      let nl = 0;
      const last = edges[j]!.length; // bins 0..last
      for (let b = 0; b < last; b++) {
        const at = (j * nb + b) * 3;
        gl += hist[at]!;
        hl += hist[at + 1]!;
        nl += hist[at + 2]!;
        if (nl < o.minSamplesLeaf) continue;
        if (count - nl < o.minSamplesLeaf) break;
        const gr = leaf.g - gl;
        const hr = leaf.h - hl;
        if (hl < 1e-3 || hr < 1e-3) continue;
        const g = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (g > 1e-12 && (!found || g > found.gain)) {
          found = { gain: g, feature: j, bin: b, leftG: gl, leftH: hl, leftN: nl };
        }
      }
    }
    return found;
  };

  let round = 0;
  for (; round < o.maxIterations; round++) {
    let G = 0;
    let H = 0;
    for (let r = 0; r < n; r++) {
      const p = sigmoid(raw[r]!);
      grad[r] = p - y[r]!;
      hess[r] = Math.max(p * (1 - p), 1e-16);
      G += grad[r]!;
      H += hess[r]!;
      index[r] = r;
    }
    const tree = { feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0] };
    const splitBins = [0];
    const treeGain = new Float64Array(m);
    const root: Leaf = { node: 0, from: 0, to: n, g: G, h: H, depth: 0, hist: buildHist(0, n), split: null };
    root.split = bestSplit(root);
    const open: Leaf[] = [root];
    const done: Leaf[] = [];
    let leaves = 1;
    while (leaves < o.maxLeaves) {
      let at = -1;
      for (let k = 0; k < open.length; k++) {
        const s = open[k]!.split;
        if (s && (at < 0 || s.gain > open[at]!.split!.gain)) at = k;
      }
      if (at < 0) break;
      const leaf = open.splice(at, 1)[0]!;
      const s = leaf.split!;
      // Partition the leaf's rows in place: left (bin ≤ s.bin) first.
      let a = leaf.from;
      let b = 0;
      const featureBins = bins[s.feature]!;
      for (let k = leaf.from; k < leaf.to; k++) {
        const r = index[k]!;
        if (featureBins[r]! <= s.bin) index[a++] = r;
        else scratch[b++] = r;
      }
      index.set(scratch.subarray(0, b), a);
      const mid = a;
      treeGain[s.feature]! += s.gain / 2;
      const leftNode = tree.feature.length;
      const rightNode = leftNode + 1;
      tree.feature[leaf.node] = s.feature;
      tree.threshold[leaf.node] = edges[s.feature]![s.bin]!;
      splitBins[leaf.node] = s.bin;
      tree.left[leaf.node] = leftNode;
      tree.right[leaf.node] = rightNode;
      for (let k = 0; k < 2; k++) {
        tree.feature.push(-1);
        tree.threshold.push(0);
        tree.left.push(-1);
        tree.right.push(-1);
        tree.value.push(0);
        splitBins.push(0);
      }
      // Count the smaller child; the larger one's histogram is the parent's minus it.
      const leftSmaller = mid - leaf.from <= leaf.to - mid;
      const small = leftSmaller ? buildHist(leaf.from, mid) : buildHist(mid, leaf.to);
      const large = leaf.hist;
      for (let k = 0; k < histSize; k++) large[k] = large[k]! - small[k]!;
      const left: Leaf = {
        node: leftNode,
        from: leaf.from,
        to: mid,
        g: s.leftG,
        h: s.leftH,
        depth: leaf.depth + 1,
        hist: leftSmaller ? small : large,
        split: null,
      };
      const right: Leaf = {
        node: rightNode,
        from: mid,
        to: leaf.to,
        g: leaf.g - s.leftG,
        h: leaf.h - s.leftH,
        depth: leaf.depth + 1,
        hist: leftSmaller ? large : small,
        split: null,
      };
      left.split = bestSplit(left);
      right.split = bestSplit(right);
      open.push(left, right);
      leaves++;
    }
    done.push(...open);
    for (const leaf of done) {
      const v = (-o.learningRate * leaf.g) / (leaf.h + lambda);
      tree.value[leaf.node] = v;
      for (let k = leaf.from; k < leaf.to; k++) raw[index[k]!]! += v;
    }
    trees.push(tree);
    treeGains.push(treeGain);
    if (nVal > 0) {
      let loss = 0;
      for (let r = 0; r < nVal; r++) {
        let node = 0;
        while (tree.feature[node]! >= 0) {
          node =
            valBins[r * m + tree.feature[node]!]! <= splitBins[node]! ? tree.left[node]! : tree.right[node]!;
        }
        rawVal[r]! += tree.value[node]!;
        const p = Math.min(Math.max(sigmoid(rawVal[r]!), 1e-15), 1 - 1e-15);
        loss -= yVal[r] ? Math.log(p) : Math.log(1 - p);
      }
      loss /= nVal;
      validationLoss.push(loss);
      if (loss < best - 1e-7) {
        best = loss;
        bestRound = round + 1;
      } else if (round + 1 - bestRound >= o.patience) {
        round++;
        break;
      }
    } else {
      bestRound = round + 1;
    }
  }
  if (nVal > 0) trees.length = Math.max(bestRound, 1);
  const gain = new Array<number>(m).fill(0);
  for (const tg of treeGains.slice(0, trees.length)) for (let j = 0; j < m; j++) gain[j]! += tg[j]!;
  return {
    kind: 'gbt',
    columns: design.columns,
    baseline,
    trees,
    gain,
    options: { ...o, maxDepth },
    iterations: trees.length,
    validationLoss,
  };
}

/** Probabilities for rows given as columns in the model's column order. */
export function predictGbt(model: GbtModel, values: readonly Float64Array[]): Float64Array {
  const n = values[0]?.length ?? 0;
  const out = new Float64Array(n).fill(model.baseline);
  for (const t of model.trees) {
    for (let i = 0; i < n; i++) {
      let node = 0;
      while (t.feature[node]! >= 0) {
        const v = values[t.feature[node]!]![i]!;
        // NaN (never seen in training) goes left with the smallest values.
        node = !(v > t.threshold[node]!) ? t.left[node]! : t.right[node]!;
      }
      out[i]! += t.value[node]!;
    }
  }
  for (let i = 0; i < n; i++) out[i] = sigmoid(out[i]!);
  return out;
}
