import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWarehouse } from '../src/engine/open.js';
import { createRng } from '../src/generate/random.js';
import { fitClassifier } from '../src/model/propensity/classifier.js';
import { applyEncoding, learnEncoding } from '../src/model/propensity/encode-table.js';
import { fitPropensityFromFile } from '../src/model/propensity/file-propensity.js';
import { readTable } from '../src/model/propensity/read-table.js';
import { type Benchmark, type BenchRow, seconds } from './harness.js';
import { pythonMissing, runPythonPeer } from './python-peer.js';

/**
 * Propensity on tables: (1) the public telco churn table over 5 random 70/30 splits, segflow's `auto` model against
 * the better of scikit-learn's LogisticRegression (behind a StandardScaler) and HistGradientBoostingClassifier with
 * default settings on the same splits — target: mean test AUC within 0.005 of it; (2) fit time of both models on
 * 100,000 rows × 30 features (24 numbers, 6 categories), beside the time to read and encode the file, with
 * scikit-learn's times on the same file for context.
 *
 * Args: `--rows N` (default 100,000), `--splits N` (default 5).
 */
function argValue(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

const TELCO = new URL('../test/fixtures/telco/telco-customer-churn.csv', import.meta.url).pathname;
const DATA = new URL('./data/', import.meta.url).pathname;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** The telco file with a `split` column per random 70/30 split; and the test row numbers of each. */
function telcoSplits(count: number): { files: string[]; tests: number[][] } {
  const lines = readFileSync(TELCO, 'utf8').trimEnd().split('\n');
  const rng = createRng(2026, 0);
  const files: string[] = [];
  const tests: number[][] = [];
  for (let s = 0; s < count; s++) {
    const rows = lines.length - 1;
    const order = Array.from({ length: rows }, (_, i) => i);
    for (let i = rows - 1; i > 0; i--) {
      const j = rng.int(0, i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const test = order.slice(0, Math.round(0.3 * rows)).sort((a, b) => a - b);
    const isTest = new Uint8Array(rows);
    for (const i of test) isTest[i] = 1;
    const file = join(DATA, `telco-split-${s}.csv`);
    writeFileSync(
      file,
      `${[`${lines[0]},split`, ...lines.slice(1).map((l, i) => `${l},${isTest[i] ? 'test' : 'train'}`)].join('\n')}\n`,
    );
    files.push(file);
    tests.push(test);
  }
  return { files, tests };
}

/** 24 numeric and 6 categorical features; the label mixes a linear part, a threshold interaction and noise. */
function syntheticFile(rows: number): string {
  const path = join(DATA, `propensity-${rows}x30.csv`);
  const rng = createRng(30, 0);
  const header = [
    ...Array.from({ length: 24 }, (_, j) => `x${j}`),
    ...Array.from({ length: 6 }, (_, j) => `c${j}`),
    'label',
  ];
  const out: string[] = [header.join(',')];
  const levels = ['a', 'b', 'c', 'd', 'e'];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: 24 }, () => rng.normal());
    const c = Array.from({ length: 6 }, () => rng.int(0, 5));
    const z =
      0.6 * x[0]! - 0.5 * x[1]! + 0.3 * x[2]! + (x[3]! > 0.5 && x[4]! < 0 ? 1.5 : 0) + 0.4 * (c[0]! - 2) - 1;
    out.push(
      `${x.map((v) => v.toFixed(4)).join(',')},${c.map((k) => levels[k]).join(',')},${rng.chance(1 / (1 + Math.exp(-z))) ? 1 : 0}`,
    );
  }
  writeFileSync(path, `${out.join('\n')}\n`);
  return path;
}

export const propensityBenchmark: Benchmark = {
  name: 'propensity',
  description:
    'propensity on tables: telco churn AUC vs scikit-learn on the same splits; fit time on 100k × 30',
  async run(args) {
    const rows: BenchRow[] = [];
    const details: Record<string, unknown> = {};
    mkdirSync(DATA, { recursive: true });
    const missing = pythonMissing(['sklearn', 'pandas']);
    const wh = await openWarehouse({ path: ':memory:' });

    // 1. Telco churn, the same random splits for both.
    const splits = telcoSplits(argValue(args, '--splits', 5));
    const ours = {
      auto: [] as number[],
      logistic: [] as number[],
      gbt: [] as number[],
      chosen: [] as string[],
    };
    let t = performance.now();
    for (const file of splits.files) {
      const fit = await fitPropensityFromFile(wh, {
        path: file,
        label: 'Churn',
        splitColumn: 'split',
        model: 'auto',
      });
      const candidates = fit.fit.diagnostics.candidates as Record<string, { auc: number }>;
      ours.auto.push(fit.backtest.auc);
      ours.logistic.push(candidates.logistic!.auc);
      ours.gbt.push(candidates.gbt!.auc);
      ours.chosen.push(fit.model.kind ?? 'logistic');
    }
    const oursSeconds = seconds(t);
    const splitsFile = join(DATA, 'telco-splits.json');
    writeFileSync(splitsFile, JSON.stringify(splits.tests));
    t = performance.now();
    const peer = missing
      ? `skipped: ${missing}`
      : runPythonPeer<{ logistic: number[]; hgb: number[] }>('sklearn_propensity.py', [
          'telco',
          TELCO,
          splitsFile,
        ]);
    const peerSeconds = seconds(t);
    const autoNote = `segflow auto chose ${ours.chosen.join(', ')} (by 5-fold CV AUC on the training rows); segflow logistic ${mean(ours.logistic).toFixed(4)}, trees ${mean(ours.gbt).toFixed(4)}; ${splits.files.length} splits in ${oursSeconds.toFixed(1)} s`;
    if (typeof peer === 'string') {
      rows.push({
        metric: 'telco churn, mean test AUC, segflow auto',
        value: mean(ours.auto),
        unit: 'AUC',
        note: `${autoNote}; scikit-learn ${peer}`,
      });
    } else {
      const best = Math.max(mean(peer.logistic), mean(peer.hgb));
      rows.push({
        metric: 'telco churn, mean test AUC, segflow auto',
        value: mean(ours.auto),
        unit: 'AUC',
        limit: best,
        limitLabel: 'better of scikit-learn LogisticRegression / HistGradientBoosting, defaults, same splits',
        ratio: mean(ours.auto) / best,
        target: (best - 0.005) / best,
        note: `target: within 0.005 AUC of the better peer (gap ${(mean(ours.auto) - best).toFixed(4)}); scikit-learn LogisticRegression ${mean(peer.logistic).toFixed(4)}, HistGradientBoosting ${mean(peer.hgb).toFixed(4)} (${peerSeconds.toFixed(1)} s as a process); ${autoNote}`,
      });
    }
    details.telco = { ours, peer };

    // 2. Fit time on 100k × 30.
    const n = argValue(args, '--rows', 100_000);
    const file = syntheticFile(n);
    t = performance.now();
    const table = await readTable(wh, file);
    const all = Array.from({ length: table.rows }, (_, i) => i);
    const encoding = learnEncoding(
      table,
      table.names.filter((c) => c !== 'label'),
      all,
    );
    const design = {
      columns: encoding.inputs,
      values: applyEncoding(encoding, table, all),
      labels: Uint8Array.from(table.columns[table.names.indexOf('label')]!, (c) =>
        String(c) === '1' ? 1 : 0,
      ),
    };
    const readSeconds = seconds(t);
    const sk = missing
      ? `skipped: ${missing}`
      : runPythonPeer<{ read: number; logistic: number; hgb: number }>('sklearn_propensity.py', [
          'synthetic',
          file,
          'label',
        ]);
    const size = `${n.toLocaleString('en-US')} rows × 30 features (${encoding.inputs.length} inputs after one-hot)`;
    rows.push({
      metric: `read and encode the CSV, ${size}`,
      value: readSeconds,
      unit: 's',
      note:
        typeof sk === 'string'
          ? `scikit-learn ${sk}`
          : `pandas read_csv + get_dummies ${sk.read.toFixed(2)} s`,
    });
    for (const kind of ['logistic', 'gbt'] as const) {
      t = performance.now();
      const { model } = fitClassifier(design, { model: kind, seed: 1 });
      const fitSeconds = seconds(t);
      const peerFit = typeof sk === 'string' ? null : kind === 'gbt' ? sk.hgb : sk.logistic;
      rows.push({
        metric: `fit ${kind === 'gbt' ? 'gradient-boosted trees' : 'logistic regression'}, ${size}`,
        value: fitSeconds,
        unit: 's',
        ...(peerFit === null
          ? {}
          : {
              limit: peerFit,
              limitLabel:
                kind === 'gbt'
                  ? 'scikit-learn HistGradientBoostingClassifier()'
                  : 'scikit-learn StandardScaler + LogisticRegression()',
              ratio: peerFit / fitSeconds,
            }),
        note: `${(fitSeconds / readSeconds).toFixed(1)}× the read time${model.kind === 'gbt' ? `; ${model.iterations} trees (early stopping)` : `; ${model.iterations} Newton steps`}; for context, no target`,
      });
    }
    await wh.close();
    return { name: 'propensity', description: this.description, rows, details };
  },
};
