import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';
import { getModelFit } from '../predict/model-fits.js';
import { fitLogistic, type LogisticModel, predictLogistic } from './logistic.js';
import { backtest } from './metrics.js';
import { type PropensityFit, storePropensityFit } from './propensity.js';

/**
 * Propensity on the data scientist's own feature table: a CSV or Parquet file with an id column, a 0/1 label column
 * and numeric feature columns (every other numeric column is a feature). Rows are split into train and test by a
 * split column ('train' / 'test'; e.g. made by time) or, without one, by a hash of the id (a fixed 30% test share,
 * the same on every run). The fit is stored as model `propensity`; scoring writes a CSV of id and probability.
 */
export interface FilePropensityOptions {
  path: string;
  label: string;
  idColumn?: string;
  splitColumn?: string;
  lambda?: number;
}

function usage(message: string, fix: string): SegflowError {
  return new SegflowError('MODEL_DATA_INVALID', message, fix);
}

function fileRelation(wh: Warehouse, path: string): string {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return wh.dialect.readParquet('?');
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt')
    return wh.dialect.readCsv('?', { header: true, inferTypes: true });
  throw usage(`'${path}' is neither CSV nor Parquet`, 'give a .csv or .parquet file');
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/i;

interface FileRows {
  ids: string[];
  columns: readonly string[];
  values: Float64Array[];
  labels: Uint8Array | null;
  split: (string | null)[];
}

async function readFileRows(
  wh: Warehouse,
  o: { path: string; label?: string; idColumn: string; splitColumn?: string; columns?: readonly string[] },
): Promise<FileRows> {
  const relation = fileRelation(wh, o.path);
  let described: { column_name: string; column_type: string }[];
  try {
    described = await wh.query(`DESCRIBE SELECT * FROM ${relation}`, [o.path]);
  } catch (e) {
    throw usage(
      `cannot read '${o.path}': ${(e as Error).message}`,
      'check the path and that the file is CSV or Parquet',
    );
  }
  const names = new Set(described.map((c) => c.column_name));
  for (const need of [o.idColumn, o.label, o.splitColumn]) {
    if (need && !names.has(need)) {
      throw usage(`'${o.path}' has no column '${need}'`, `its columns: ${[...names].join(', ')}`);
    }
  }
  const features =
    o.columns ??
    described
      .filter(
        (c) => ![o.idColumn, o.label, o.splitColumn].includes(c.column_name) && NUMERIC.test(c.column_type),
      )
      .map((c) => c.column_name);
  if (features.length === 0) {
    throw usage(
      `'${o.path}' has no numeric feature columns`,
      'add numeric columns beside the id and the label',
    );
  }
  for (const f of features) {
    if (!names.has(f))
      throw usage(
        `'${o.path}' has no column '${f}', which the model was trained on`,
        'score a file with the training columns',
      );
  }
  const q = (n: string) => wh.dialect.quoteIdent(n);
  const rows = await wh.query<Record<string, unknown>>(
    `SELECT CAST(${q(o.idColumn)} AS VARCHAR) AS __id,
       ${features.map((f, j) => `CAST(${q(f)} AS DOUBLE) AS __f${j}`).join(', ')}
       ${o.label ? `, ${q(o.label)} AS __label` : ''}
       ${o.splitColumn ? `, CAST(${q(o.splitColumn)} AS VARCHAR) AS __split` : ''}
     FROM ${relation}`,
    [o.path],
  );
  const values = features.map(() => new Float64Array(rows.length));
  const labels = o.label ? new Uint8Array(rows.length) : null;
  const ids: string[] = [];
  const split: (string | null)[] = [];
  rows.forEach((r, i) => {
    ids.push(String(r.__id));
    features.forEach((_, j) => {
      const v = r[`__f${j}`];
      values[j]![i] = v === null || v === undefined ? 0 : Number(v);
    });
    if (labels) {
      const y = r.__label;
      const yes = y === true || y === 1 || y === 1n || y === '1' || y === 'true';
      const no = y === false || y === 0 || y === 0n || y === '0' || y === 'false';
      if (!yes && !no) {
        throw usage(
          `row ${i + 1} of '${o.path}': label ${o.label} is ${JSON.stringify(String(y))}, not 0/1`,
          'labels must be 0 or 1 (or true/false)',
        );
      }
      labels[i] = yes ? 1 : 0;
    }
    split.push(o.splitColumn ? String(r.__split ?? '').toLowerCase() : null);
  });
  return { ids, columns: features, values, labels, split };
}

/** A stable 30% test share by id: the first 32 bits of SHA-256(id) below 0.3 · 2³². */
function inTestShare(id: string): boolean {
  return createHash('sha256').update(id).digest().readUInt32BE(0) < 0.3 * 2 ** 32;
}

function subset(rows: FileRows, keep: (i: number) => boolean) {
  const idx: number[] = [];
  for (let i = 0; i < rows.ids.length; i++) if (keep(i)) idx.push(i);
  return {
    columns: rows.columns,
    values: rows.values.map((col) => Float64Array.from(idx, (i) => col[i]!)),
    labels: Uint8Array.from(idx, (i) => rows.labels![i]!),
  };
}

export async function fitPropensityFromFile(wh: Warehouse, o: FilePropensityOptions): Promise<PropensityFit> {
  const started = performance.now();
  const idColumn = o.idColumn ?? 'person_id';
  const rows = await readFileRows(wh, { ...o, idColumn });
  const isTest = (i: number) => (o.splitColumn ? rows.split[i] === 'test' : inTestShare(rows.ids[i]!));
  if (o.splitColumn && rows.split.some((s) => s !== 'train' && s !== 'test')) {
    throw usage(`split column ${o.splitColumn} must hold 'train' or 'test'`, 'mark every row train or test');
  }
  const train = subset(rows, (i) => !isTest(i));
  const test = subset(rows, isTest);
  if (test.labels.length === 0) throw usage('no test rows', 'mark some rows test, or give more rows');
  const model = fitLogistic(train, { lambda: o.lambda });
  const result = backtest(predictLogistic(model, test.values), test.labels);
  return storePropensityFit(wh, {
    model: 'propensity',
    options: {
      file: o.path,
      label: o.label,
      idColumn,
      splitColumn: o.splitColumn ?? null,
      split: o.splitColumn ? 'by column' : '30% test by SHA-256 of the id',
    },
    fitted: model,
    backtest: result,
    trainRows: train.labels.length,
    started,
  });
}

/** Score a file with the same feature columns; writes `out` as CSV (id, probability). Returns rows written. */
export async function scorePropensityFile(
  wh: Warehouse,
  o: { path: string; out: string; fitId?: string },
): Promise<{ rows: number; fitId: string; out: string }> {
  const fit = await getModelFit(wh, { model: 'propensity', id: o.fitId });
  const model = fit.params as unknown as LogisticModel;
  const idColumn = String(fit.options.idColumn);
  const rows = await readFileRows(wh, { path: o.path, idColumn, columns: model.columns });
  const p = predictLogistic(model, rows.values);
  const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const lines = [`${quote(idColumn)},probability`, ...rows.ids.map((id, i) => `${quote(id)},${p[i]}`)];
  await writeFile(o.out, `${lines.join('\n')}\n`);
  return { rows: rows.ids.length, fitId: fit.id, out: o.out };
}
