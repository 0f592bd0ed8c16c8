import { SegflowError } from '../../errors.js';
import type { Cell, RawTable } from './read-table.js';

/**
 * Turn a raw table into numeric model inputs the way a careful data scientist would, and say what was done:
 * - numbers (and numeric text) stay numbers; blanks, `NA`, `null` and the like are missing — imputed with the
 *   training median, with a 0/1 `col (missing)` indicator beside them;
 * - two-valued yes/no, true/false, y/n, t/f columns become 0/1;
 * - other text is categorical and one-hot encoded; levels seen in fewer than `minLevelShare` of the training rows
 *   (or beyond the `maxLevels` most common) are pooled into `(other)`, which is also where unseen levels go at scoring;
 *   a missing value is its own level;
 * - columns that cannot help are dropped with a reason: all missing, a single value, or text unique per row (an id).
 * The encoding is learnt on training rows and stored with the fit, so scoring encodes new rows identically.
 */
export type ColumnEncoding =
  | { column: string; kind: 'numeric'; median: number; missingIndicator: boolean; missing: number }
  | {
      column: string;
      kind: 'boolean';
      trueWord: string;
      missingIndicator: boolean;
      missing: number;
      rate: number;
    }
  | {
      column: string;
      kind: 'categorical';
      levels: string[];
      pooled: string[];
      other: boolean;
      missing: number;
    };

export interface DroppedColumn {
  column: string;
  reason: string;
}

export interface TableEncoding {
  columns: ColumnEncoding[];
  dropped: DroppedColumn[];
  /** The model inputs, in order. */
  inputs: string[];
}

export interface EncodeOptions {
  /** A level needs at least this share of training rows to get its own column; default 0.01. */
  minLevelShare?: number;
  /** At most this many levels per column get their own column; default 30. */
  maxLevels?: number;
}

const MISSING_WORDS = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?', '-']);
const BOOLEAN_PAIRS: [string, string][] = [
  ['yes', 'no'],
  ['true', 'false'],
  ['y', 'n'],
  ['t', 'f'],
];
const OTHER = '(other)';
const MISSING_LEVEL = '(missing)';

function text(c: Cell): string | null {
  if (c === null) return null;
  if (typeof c === 'boolean') return c ? 'true' : 'false';
  const s = String(c).trim();
  return MISSING_WORDS.has(s.toLowerCase()) ? null : s;
}

/** The number in a cell, NaN when missing; undefined when it is text that is not a number. */
function numberIn(c: Cell): number | undefined {
  if (typeof c === 'number') return Number.isFinite(c) ? c : Number.NaN;
  if (typeof c === 'boolean') return c ? 1 : 0;
  if (c === null) return Number.NaN;
  // The common case first: plain decimal text needs no trimming or word lists.
  const first = c.charCodeAt(0);
  if ((first >= 48 && first <= 57) || first === 45) {
    const v = Number(c);
    if (Number.isFinite(v)) return v;
  }
  const s = text(c);
  if (s === null) return Number.NaN;
  const v = Number(s);
  return Number.isFinite(v) && /^[-+]?(\d|\.\d)/.test(s) ? v : undefined;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

function learnColumn(
  name: string,
  cells: Cell[],
  rows: ArrayLike<number>,
  o: EncodeOptions,
): ColumnEncoding | DroppedColumn {
  const n = rows.length;
  let missing = 0;
  let numeric = true;
  const numbers: number[] = [];
  // First as numbers (no per-value bookkeeping: most feature columns are numeric); text is counted only if needed.
  for (let k = 0; k < n && numeric; k++) {
    const v = numberIn(cells[rows[k]!]!);
    if (v === undefined) numeric = false;
    else if (Number.isNaN(v)) missing++;
    else numbers.push(v);
  }
  const counts = new Map<string, number>();
  if (numeric) {
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (const v of numbers) {
      if (v < low) low = v;
      if (v > high) high = v;
    }
    if (numbers.length > 0) counts.set(String(low), numbers.length);
    if (high > low) counts.set(String(high), 0);
  } else {
    missing = 0;
    for (let k = 0; k < n; k++) {
      const s = text(cells[rows[k]!]!);
      if (s === null) missing++;
      else counts.set(s, (counts.get(s) ?? 0) + 1);
    }
  }
  if (missing === n) return { column: name, reason: 'every value is missing' };
  if (counts.size === 1 && missing === 0)
    return { column: name, reason: `a single value (${[...counts.keys()][0]})` };
  if (numeric) {
    return { column: name, kind: 'numeric', median: median(numbers), missingIndicator: missing > 0, missing };
  }
  const lower = new Set([...counts.keys()].map((s) => s.toLowerCase()));
  const pair = BOOLEAN_PAIRS.find(([t, f]) => [...lower].every((s) => s === t || s === f));
  if (pair) {
    let yes = 0;
    for (const [s, c] of counts) if (s.toLowerCase() === pair[0]) yes += c;
    return {
      column: name,
      kind: 'boolean',
      trueWord: pair[0],
      missingIndicator: missing > 0,
      missing,
      rate: yes / (n - missing),
    };
  }
  if (counts.size > 0.5 * n && counts.size > 20) {
    return { column: name, reason: `text unique to almost every row (${counts.size} values): an identifier` };
  }
  const minCount = Math.max(1, Math.ceil((o.minLevelShare ?? 0.01) * n));
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const kept = ranked.filter(([, c], r) => c >= minCount && r < (o.maxLevels ?? 30)).map(([s]) => s);
  const pooled = ranked.map(([s]) => s).filter((s) => !kept.includes(s));
  if (missing > 0) kept.push(MISSING_LEVEL);
  // One level is enough to say everything about a two-level column; with more, every level keeps its own column.
  return { column: name, kind: 'categorical', levels: kept, pooled, other: pooled.length > 0, missing };
}

function inputsOf(e: ColumnEncoding): string[] {
  if (e.kind === 'categorical') {
    const all = [...e.levels, ...(e.other ? [OTHER] : [])].map((l) => `${e.column}=${l}`);
    return all.length === 2 ? [all[0]!] : all;
  }
  return e.missingIndicator ? [e.column, `${e.column} (missing)`] : [e.column];
}

/** Learn how to encode `features` of `table` from the given training rows. */
export function learnEncoding(
  table: RawTable,
  features: readonly string[],
  rows: ArrayLike<number>,
  o: EncodeOptions = {},
): TableEncoding {
  const columns: ColumnEncoding[] = [];
  const dropped: DroppedColumn[] = [];
  for (const name of features) {
    const j = table.names.indexOf(name);
    const learnt = learnColumn(name, table.columns[j]!, rows, o);
    if ('reason' in learnt) dropped.push(learnt);
    else columns.push(learnt);
  }
  if (columns.length === 0) {
    throw new SegflowError(
      'MODEL_DATA_INVALID',
      `'${table.path}' has no usable feature column${dropped.length ? ` (${dropped.map((d) => `${d.column}: ${d.reason}`).join('; ')})` : ''}`,
      'add columns beside the id and the label that vary between rows',
    );
  }
  return { columns, dropped, inputs: columns.flatMap(inputsOf) };
}

/** Encode the given rows of a table (training, test or new rows to score) as one Float64Array per input. */
export function applyEncoding(enc: TableEncoding, table: RawTable, rows: ArrayLike<number>): Float64Array[] {
  const n = rows.length;
  const out: Float64Array[] = [];
  for (const e of enc.columns) {
    const j = table.names.indexOf(e.column);
    if (j < 0) {
      throw new SegflowError(
        'MODEL_DATA_INVALID',
        `'${table.path}' has no column '${e.column}', which the model was trained on`,
        `score a file with the training columns: ${enc.columns.map((c) => c.column).join(', ')}`,
      );
    }
    const cells = table.columns[j]!;
    if (e.kind === 'categorical') {
      const width = inputsOf(e).length;
      const cols = Array.from({ length: width }, () => new Float64Array(n));
      const index = new Map(e.levels.map((l, k) => [l, k]));
      const otherAt = e.other ? e.levels.length : -1;
      for (let k = 0; k < n; k++) {
        const s = text(cells[rows[k]!]!) ?? MISSING_LEVEL;
        // Unseen levels (and a missing value never seen in training) go to (other), or to no column at all.
        const at = index.get(s) ?? otherAt;
        if (at >= 0 && at < width) cols[at]![k] = 1;
      }
      out.push(...cols);
      continue;
    }
    const value = new Float64Array(n);
    const flag = e.missingIndicator ? new Float64Array(n) : null;
    for (let k = 0; k < n; k++) {
      const c = cells[rows[k]!]!;
      let v: number;
      if (e.kind === 'numeric') {
        v = numberIn(c) ?? Number.NaN;
      } else {
        const s = text(c);
        v = s === null ? Number.NaN : s.toLowerCase() === e.trueWord ? 1 : 0;
      }
      if (Number.isNaN(v)) {
        v = e.kind === 'numeric' ? e.median : e.rate;
        if (flag) flag[k] = 1;
      }
      value[k] = v;
    }
    out.push(value);
    if (flag) out.push(flag);
  }
  return out;
}

/** One line per column for the fit summary: what the column was read as and what was done with it. */
export function describeEncoding(enc: TableEncoding): { column: string; encoding: string }[] {
  const lines = enc.columns.map((e) => {
    const miss = e.missing ? `; ${e.missing} missing` : '';
    if (e.kind === 'numeric') {
      return {
        column: e.column,
        encoding: `numeric${e.missing ? `${miss} → median ${e.median} + indicator` : ''}`,
      };
    }
    if (e.kind === 'boolean') {
      return {
        column: e.column,
        encoding: `${e.trueWord}/… → 1/0${e.missing ? `${miss} → rate + indicator` : ''}`,
      };
    }
    return {
      column: e.column,
      encoding: `categorical, ${e.levels.length} levels one-hot${e.other ? `, ${e.pooled.length} rare levels pooled as ${OTHER}` : ''}${miss}`,
    };
  });
  return [...lines, ...enc.dropped.map((d) => ({ column: d.column, encoding: `dropped: ${d.reason}` }))];
}
