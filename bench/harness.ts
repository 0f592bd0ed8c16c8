import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { openWarehouse } from '../src/engine/open.js';

/**
 * The benchmark harness. Every figure is printed beside the limit or peer it is judged against, measured in the same
 * run on the same machine, so the ratio means something wherever it runs. Results go to bench/results/NAME.json
 * with the machine they were measured on.
 */
export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  /** What `value` is judged against, measured in the same run. */
  limit?: number;
  limitLabel?: string;
  /** value / limit (or limit / value for times, so that higher is always better). */
  ratio?: number;
  /** The target for the ratio, e.g. 0.5 for "at least 50% of the limit". */
  target?: number;
  note?: string;
}

/**
 * A time judged against another time measured in the same run (the aggregate scan, say): the ratio is limit / value,
 * so higher is better. `target` 1/3 reads "at most 3x the limit"; leave it out for a row shown for context.
 */
export function timeAgainst(
  metric: string,
  seconds: number,
  limit: { seconds: number; label: string },
  note: string,
  target?: number,
): BenchRow {
  return {
    metric,
    value: seconds,
    unit: 's',
    limit: limit.seconds,
    limitLabel: limit.label,
    ratio: limit.seconds / seconds,
    ...(target === undefined ? {} : { target }),
    note,
  };
}

export interface BenchResult {
  name: string;
  description: string;
  rows: BenchRow[];
  details?: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  description: string;
  run(args: string[]): Promise<BenchResult>;
}

export async function machine(): Promise<Record<string, unknown>> {
  const wh = await openWarehouse({ path: ':memory:' });
  const [v] = await wh.query<{ v: string }>('SELECT version() AS v');
  await wh.close();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    duckdb: v?.v ?? 'unknown',
    platform: `${process.platform}-${process.arch}`,
  };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

export function render(result: BenchResult): string {
  const header = ['metric', 'value', 'limit / peer (same run)', 'ratio', 'target', 'verdict'];
  const rows = result.rows.map((r) => [
    r.metric,
    `${fmt(r.value)} ${r.unit}`,
    r.limit === undefined ? '' : `${fmt(r.limit)} ${r.unit}${r.limitLabel ? ` (${r.limitLabel})` : ''}`,
    r.ratio === undefined ? '' : r.ratio.toFixed(2),
    r.target === undefined ? '' : `≥ ${fmt(r.target)}`,
    r.ratio === undefined || r.target === undefined
      ? ''
      : r.ratio >= r.target
        ? 'meets target'
        : 'BELOW target',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const notes = result.rows.filter((r) => r.note).map((r) => `  * ${r.metric}: ${r.note}`);
  return [
    `${result.name} — ${result.description}`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...notes,
  ].join('\n');
}

export async function save(result: BenchResult): Promise<string> {
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${result.name}.json`;
  writeFileSync(
    path,
    `${JSON.stringify({ ...result, machine: await machine(), measuredAt: new Date().toISOString() }, null, 2)}\n`,
  );
  return path;
}

export function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}
