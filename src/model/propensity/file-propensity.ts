import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';
import { getModelFit } from '../predict/model-fits.js';
import { type Classifier, type ClassifierOptions, fitClassifier, predictClassifier } from './classifier.js';
import { applyEncoding, describeEncoding, learnEncoding, type TableEncoding } from './encode-table.js';
import type { Design } from './logistic.js';
import { type Backtest, backtest } from './metrics.js';
import { type PropensityFit, storePropensityFit } from './propensity.js';
import { type Cell, type RawTable, readTable } from './read-table.js';

/**
 * Propensity on the data scientist's own table: a CSV or Parquet file with a label column (0/1, true/false or
 * yes/no), an optional id column and feature columns of any kind — numbers, numeric text with blanks, yes/no and
 * categories are encoded (see encode-table.ts) and every decision is reported in the fit. Rows are split into train and
 * test by a split column ('train' / 'test'; e.g. made by time) or, without one, by a hash of the id (a fixed 30% test
 * share, the same on every run). The fit is stored as model `propensity`; scoring writes a CSV of id and probability.
 */
export interface FilePropensityOptions extends Omit<ClassifierOptions, 'folds'> {
  path: string;
  label: string;
  /** Default: `person_id` when the file has it, else row numbers (1, 2, …). */
  idColumn?: string;
  splitColumn?: string;
}

/** The stored parameters of a file propensity fit: the classifier and the encoding of the file's columns. */
export type FileClassifier = Classifier & { encoding: TableEncoding };

function invalid(message: string, fix: string): SegflowError {
  return new SegflowError('MODEL_DATA_INVALID', message, fix);
}

function column(table: RawTable, name: string): Cell[] {
  const j = table.names.indexOf(name);
  if (j < 0)
    throw invalid(`'${table.path}' has no column '${name}'`, `its columns: ${table.names.join(', ')}`);
  return table.columns[j]!;
}

/** Ids from the id column, or row numbers when the file has none. */
function idsOf(table: RawTable, idColumn: string | undefined): { ids: string[]; idColumn: string | null } {
  const name = idColumn ?? (table.names.includes('person_id') ? 'person_id' : undefined);
  if (!name) return { ids: Array.from({ length: table.rows }, (_, i) => String(i + 1)), idColumn: null };
  return { ids: column(table, name).map((c) => String(c ?? '')), idColumn: name };
}

const YES = new Set(['1', 'true', 'yes', 'y', 't']);
const NO = new Set(['0', 'false', 'no', 'n', 'f']);

/** 1, 0, or -1 for a missing label. */
function labelsOf(table: RawTable, label: string): Int8Array {
  const cells = column(table, label);
  const out = new Int8Array(cells.length);
  cells.forEach((c, i) => {
    const s = c === null ? '' : String(c).trim().toLowerCase();
    if (s === '') out[i] = -1;
    else if (YES.has(s)) out[i] = 1;
    else if (NO.has(s)) out[i] = 0;
    else {
      throw invalid(
        `row ${i + 1} of '${table.path}': label ${label} is ${JSON.stringify(String(c))}, not 0/1`,
        'labels must be 0/1, true/false or yes/no',
      );
    }
  });
  return out;
}

/** A stable 30% test share by id: the first 32 bits of SHA-256(id) below 0.3 · 2³². */
function inTestShare(id: string): boolean {
  return createHash('sha256').update(id).digest().readUInt32BE(0) < 0.3 * 2 ** 32;
}

/** Test-set figures of one candidate, for the report beside the chosen model's full backtest. */
function headline(b: Backtest): { auc: number; logLoss: number; topDecileLift: number } {
  return { auc: b.auc, logLoss: b.logLoss, topDecileLift: b.topDecileLift };
}

export async function fitPropensityFromFile(wh: Warehouse, o: FilePropensityOptions): Promise<PropensityFit> {
  const started = performance.now();
  const table = await readTable(wh, o.path);
  const { ids, idColumn } = idsOf(table, o.idColumn);
  const labels = labelsOf(table, o.label);
  const split = o.splitColumn
    ? column(table, o.splitColumn).map((c) =>
        String(c ?? '')
          .trim()
          .toLowerCase(),
      )
    : null;
  if (split?.some((s) => s !== 'train' && s !== 'test')) {
    throw invalid(
      `split column ${o.splitColumn} must hold 'train' or 'test'`,
      'mark every row train or test',
    );
  }
  const train: number[] = [];
  const test: number[] = [];
  let unlabelled = 0;
  for (let i = 0; i < table.rows; i++) {
    if (labels[i]! < 0) {
      unlabelled++;
      continue;
    }
    ((split ? split[i] === 'test' : inTestShare(ids[i]!)) ? test : train).push(i);
  }
  if (train.length === 0)
    throw invalid(`'${o.path}' has no labelled training rows`, 'give rows with a label');
  if (test.length === 0) throw invalid('no test rows', 'mark some rows test, or give more rows');
  const classes = new Set(train.map((i) => labels[i]));
  if (classes.size < 2) {
    throw new SegflowError(
      'MODEL_NO_DATA',
      `every training row has label ${[...classes][0]}: there is nothing to learn`,
      `give rows of both classes in ${o.label}`,
    );
  }
  const features = table.names.filter((c) => c !== idColumn && c !== o.label && c !== o.splitColumn);
  const encoding = learnEncoding(table, features, train);
  const design = (rows: number[]): Design => ({
    columns: encoding.inputs,
    values: applyEncoding(encoding, table, rows),
    labels: Uint8Array.from(rows, (i) => labels[i]!),
  });
  const trainDesign = design(train);
  const testDesign = design(test);
  const { model, choice } = fitClassifier(trainDesign, o);
  const result = backtest(predictClassifier(model, testDesign.values), testDesign.labels);
  // With `auto`, the other candidate's test figures are shown too (they played no part in the choice).
  const candidates: Record<string, ReturnType<typeof headline>> = { [choice.chosen]: headline(result) };
  if (choice.requested === 'auto') {
    const other = fitClassifier(trainDesign, { ...o, model: choice.chosen === 'gbt' ? 'logistic' : 'gbt' });
    candidates[other.choice.chosen] = headline(
      backtest(predictClassifier(other.model, testDesign.values), testDesign.labels),
    );
  }
  return storePropensityFit(wh, {
    model: 'propensity',
    options: {
      file: o.path,
      label: o.label,
      idColumn,
      splitColumn: o.splitColumn ?? null,
      split: o.splitColumn ? 'by column' : `30% test by SHA-256 of the ${idColumn ? 'id' : 'row number'}`,
      model: choice.requested,
    },
    fitted: { ...model, encoding } as FileClassifier,
    backtest: result,
    trainRows: train.length,
    started,
    diagnostics: {
      choice,
      candidates,
      input: {
        rows: table.rows,
        unlabelledRows: unlabelled,
        columns: describeEncoding(encoding),
      },
    },
  });
}

/** Score a file with the same feature columns; writes `out` as CSV (id, probability). Returns rows written. */
export async function scorePropensityFile(
  wh: Warehouse,
  o: { path: string; out: string; fitId?: string },
): Promise<{ rows: number; fitId: string; out: string }> {
  const fit = await getModelFit(wh, { model: 'propensity', id: o.fitId });
  const model = fit.params as unknown as FileClassifier;
  const table = await readTable(wh, o.path);
  const idColumn = (fit.options.idColumn as string | null) ?? undefined;
  const { ids } = idsOf(table, idColumn);
  const all = Array.from({ length: table.rows }, (_, i) => i);
  const encoding: TableEncoding = model.encoding ?? legacyEncoding(model);
  const p = predictClassifier(model, applyEncoding(encoding, table, all));
  const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const header = idColumn ?? 'row';
  const lines = [`${quote(header)},probability`, ...ids.map((id, i) => `${quote(id)},${p[i]}`)];
  await writeFile(o.out, `${lines.join('\n')}\n`);
  return { rows: ids.length, fitId: fit.id, out: o.out };
}

/** Fits stored before the encoding existed used numeric columns as they were, missing as 0. */
function legacyEncoding(model: Classifier): TableEncoding {
  return {
    columns: model.columns.map((c) => ({
      column: c,
      kind: 'numeric' as const,
      median: 0,
      missingIndicator: false,
      missing: 0,
    })),
    dropped: [],
    inputs: [...model.columns],
  };
}
