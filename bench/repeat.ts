import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult, BenchRow } from './harness.js';

/**
 * Repeated and side-by-side runs. One run of a benchmark on this shared 2-core machine can differ from the next by a
 * third (the same build's realtime p50 gave 2.4 and 3.4 s back to back), so a figure that moved by less than that
 * between two single runs says nothing. `--repeat N` runs a benchmark N times and reports each row's median with its
 * range; `--baseline DIR` runs the same benchmark from another checkout (a worktree of main, say) in turns with this
 * one — baseline, this, baseline, this… — so that both see the same machine, and prints the two side by side.
 */

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function spread(values: readonly number[], digits = 3): string {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.map((v) => Number(v.toFixed(digits))).join(', ');
}

/**
 * Several runs of one benchmark as one result: each row's value, limit and ratio are the medians over the runs that
 * have the row (the ratio's median is taken over each run's own ratio, since a ratio compares figures of one run),
 * and its note says how many runs and every value.
 *
 * @example
 * const combined = combineRuns([run1, run2, run3]);
 * combined.rows[0].value; // the median of the three values
 */
export function combineRuns(runs: readonly BenchResult[]): BenchResult {
  if (runs.length === 0) throw new Error('combineRuns needs at least one run');
  const first = runs[0]!;
  const metrics = [...new Set(runs.flatMap((r) => r.rows.map((row) => row.metric)))];
  const rows = metrics.map((metric): BenchRow => {
    const found = runs.flatMap((r) => r.rows.filter((row) => row.metric === metric));
    const template = found[0]!;
    const values = found.map((r) => r.value);
    const limits = found.flatMap((r) => (r.limit === undefined ? [] : [r.limit]));
    const ratios = found.flatMap((r) => (r.ratio === undefined ? [] : [r.ratio]));
    const runsNote = `median of ${found.length} run${found.length === 1 ? '' : 's'}: ${spread(values)} ${template.unit}${
      limits.length ? ` against ${spread(limits)} ${template.unit}` : ''
    }`;
    return {
      ...template,
      value: median(values),
      ...(limits.length ? { limit: median(limits) } : {}),
      ...(ratios.length ? { ratio: median(ratios) } : {}),
      note: template.note ? `${runsNote}; last run: ${found.at(-1)!.note}` : runsNote,
    };
  });
  return {
    name: first.name,
    description: first.description,
    rows,
    details: { runs: runs.map((r) => ({ rows: r.rows, details: r.details })) },
  };
}

/**
 * This build's and a baseline's combined results, row by row: the baseline's median beside this one's and how this
 * one moved (for times: how many times faster or slower).
 */
export function renderSideBySide(ours: BenchResult, baseline: BenchResult, baselineLabel: string): string {
  const header = ['metric', 'this build', baselineLabel, 'change'];
  const rows = ours.rows.map((row) => {
    const other = baseline.rows.find((b) => b.metric === row.metric);
    const fmt = (r: BenchRow | undefined) =>
      r
        ? `${Number(r.value.toFixed(3))} ${r.unit}${r.ratio === undefined ? '' : ` (ratio ${r.ratio.toFixed(2)})`}`
        : '—';
    const change =
      other && row.unit === other.unit && row.value > 0 && other.value > 0
        ? row.unit === 's'
          ? other.value >= row.value
            ? `${(other.value / row.value).toFixed(2)}× faster`
            : `${(row.value / other.value).toFixed(2)}× slower`
          : `${(row.value / other.value).toFixed(2)}× the baseline`
        : '';
    return [row.metric, fmt(row), fmt(other), change];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * One run of a benchmark in its own process, from the checkout at `dir` (which writes its result to its own
 * bench/results/NAME.json, read back here). Its stderr passes through, so progress shows.
 */
export async function runInProcess(dir: string, name: string, args: readonly string[]): Promise<BenchResult> {
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/main.ts', name, ...args], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`the ${name} benchmark in ${dir} exited with ${code}`);
  return JSON.parse(readFileSync(join(dir, 'bench', 'results', `${name}.json`), 'utf8')) as BenchResult;
}
