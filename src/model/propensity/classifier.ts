import { SegflowError } from '../../errors.js';
import { createRng } from '../../generate/random.js';
import { fitGbt, type GbtModel, type GbtOptions, predictGbt } from './gbt.js';
import { type Design, fitLogistic, type LogisticModel, predictLogistic } from './logistic.js';
import { auc } from './metrics.js';

/**
 * One binary classifier behind every propensity model: L2 logistic regression or gradient-boosted trees, or — with
 * `auto` — whichever has the higher cross-validated AUC on the training rows (ties go to the simpler logistic
 * model). The test rows are never looked at to choose.
 */
export const MODEL_KINDS = ['logistic', 'gbt', 'auto'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** A stored logistic fit from before trees existed carries no `kind`. */
export type Classifier = (LogisticModel & { kind?: 'logistic' }) | GbtModel;

export interface ClassifierOptions {
  model?: ModelKind;
  /** Logistic regression's L2 penalty. */
  lambda?: number;
  gbt?: GbtOptions;
  /** Seeds the folds and the trees' validation split (same seed, same fit). */
  seed?: number;
  /** Folds for `auto`; default 5 (3 above 50,000 rows). */
  folds?: number;
}

export interface ModelChoice {
  requested: ModelKind;
  chosen: 'logistic' | 'gbt';
  /** Mean AUC over the folds, per candidate; null when a single model was asked for. */
  crossValidatedAuc: { logistic: number; gbt: number } | null;
  folds: number | null;
}

export function parseModelKind(text: string): ModelKind {
  const found = MODEL_KINDS.find((k) => k === text);
  if (!found) {
    throw new SegflowError('USAGE', `unknown --model '${text}'`, `choose one of ${MODEL_KINDS.join(', ')}`);
  }
  return found;
}

export function predictClassifier(model: Classifier, values: readonly Float64Array[]): Float64Array {
  return model.kind === 'gbt' ? predictGbt(model, values) : predictLogistic(model, values);
}

/** The rows `rows` of a design. */
export function designRows(d: Design, rows: ArrayLike<number>): Design {
  return {
    columns: d.columns,
    values: d.values.map((col) => Float64Array.from(rows as ArrayLike<number>, (i) => col[i]!)),
    labels: Uint8Array.from(rows as ArrayLike<number>, (i) => d.labels[i]!),
  };
}

function fitOne(kind: 'logistic' | 'gbt', d: Design, o: ClassifierOptions, salt: number): Classifier {
  if (kind === 'logistic') return { ...fitLogistic(d, { lambda: o.lambda }), kind: 'logistic' };
  return fitGbt(d, createRng(o.seed ?? 1, 7, salt), o.gbt);
}

/** Stratified folds: positives and negatives each shuffled and dealt round-robin. */
function foldOf(labels: Uint8Array, folds: number, seed: number): Uint8Array {
  const rng = createRng(seed, 11);
  const fold = new Uint8Array(labels.length);
  for (const want of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === want) rows.push(i);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = rng.int(0, i + 1);
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    rows.forEach((r, k) => {
      fold[r] = k % folds;
    });
  }
  return fold;
}

/** Fit the requested model, or cross-validate both and fit the better on all rows. */
export function fitClassifier(
  d: Design,
  o: ClassifierOptions = {},
): { model: Classifier; choice: ModelChoice } {
  const requested = o.model ?? 'auto';
  if (requested !== 'auto') {
    return {
      model: fitOne(requested, d, o, 0),
      choice: { requested, chosen: requested, crossValidatedAuc: null, folds: null },
    };
  }
  const n = d.labels.length;
  const folds = o.folds ?? (n > 50_000 ? 3 : 5);
  const fold = foldOf(d.labels, folds, o.seed ?? 1);
  const sums = { logistic: 0, gbt: 0 };
  for (let f = 0; f < folds; f++) {
    const train: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? held : train).push(i);
    const dt = designRows(d, train);
    const dh = designRows(d, held);
    for (const kind of ['logistic', 'gbt'] as const) {
      sums[kind] += auc(predictClassifier(fitOne(kind, dt, o, f + 1), dh.values), dh.labels);
    }
  }
  const cv = { logistic: sums.logistic / folds, gbt: sums.gbt / folds };
  const chosen = cv.gbt > cv.logistic ? 'gbt' : 'logistic';
  return {
    model: fitOne(chosen, d, o, 0),
    choice: { requested, chosen, crossValidatedAuc: cv, folds },
  };
}

/** What the report shows of a model: coefficients for logistic regression, gain importance for trees. */
export function importance(model: Classifier): { input: string; weight: number }[] {
  if (model.kind === 'gbt') {
    const total = model.gain.reduce((s, g) => s + g, 0) || 1;
    return model.columns
      .map((c, j) => ({ input: c, weight: model.gain[j]! / total }))
      .sort((a, b) => b.weight - a.weight);
  }
  return model.columns.map((c, j) => ({ input: c, weight: model.weights[j]! }));
}
