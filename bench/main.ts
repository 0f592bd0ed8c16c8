import { activateBenchmark } from './activate.js';
import { collectBenchmark } from './collect.js';
import { dashboardBenchmark } from './dashboard.js';
import { decideBenchmark } from './decide.js';
import { enginesBenchmark } from './engines.js';
import { type Benchmark, type BenchResult, render, save } from './harness.js';
import { importBenchmark } from './import.js';
import { modelsBenchmark } from './models.js';
import { propensityBenchmark } from './propensity.js';
import { realtimeBenchmark } from './realtime.js';
import { refreshBenchmark } from './refresh.js';
import { combineRuns, renderSideBySide, runInProcess } from './repeat.js';
import { segmentsBenchmark } from './segments.js';

/**
 * `npm run bench [-- NAME [args…]]`: run one benchmark, or all of them. `-- NAME --repeat N [--baseline DIR] [args…]`:
 * run it N times (each in its own process) and report medians; with a baseline checkout, in turns with it, side by
 * side (bench/repeat.ts).
 */
const BENCHMARKS: Benchmark[] = [
  importBenchmark,
  collectBenchmark,
  refreshBenchmark,
  segmentsBenchmark,
  modelsBenchmark,
  propensityBenchmark,
  decideBenchmark,
  activateBenchmark,
  dashboardBenchmark,
  realtimeBenchmark,
  enginesBenchmark,
];

/** Takes `--flag VALUE` out of args, returning its value. */
function takeFlag(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  if (value === undefined) throw new Error(`${flag} needs a value`);
  return value;
}

async function repeated(name: string, args: string[], repeat: number, baseline?: string): Promise<void> {
  const here = new URL('..', import.meta.url).pathname;
  const ours: BenchResult[] = [];
  const theirs: BenchResult[] = [];
  for (let i = 0; i < repeat; i++) {
    if (baseline) {
      process.stderr.write(`round ${i + 1}/${repeat}: ${name} in the baseline (${baseline})…\n`);
      theirs.push(await runInProcess(baseline, name, args));
    }
    process.stderr.write(`round ${i + 1}/${repeat}: ${name} in this checkout…\n`);
    ours.push(await runInProcess(here, name, args));
  }
  const combined = combineRuns(ours);
  process.stdout.write(`\n${render(combined)}\n`);
  if (baseline) {
    const base = combineRuns(theirs);
    process.stdout.write(
      `\nmedians of ${repeat} rounds, in turns with the baseline:\n${renderSideBySide(combined, base, `baseline (${baseline})`)}\n`,
    );
    combined.details = { ...combined.details, baseline: { dir: baseline, rows: base.rows } };
  }
  process.stderr.write(`wrote ${await save(combined)}\n`);
}

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const repeatFlag = takeFlag(args, '--repeat');
  const baseline = takeFlag(args, '--baseline');
  if (repeatFlag !== undefined || baseline !== undefined) {
    const repeat = Number(repeatFlag ?? 1);
    if (!name || !BENCHMARKS.some((b) => b.name === name) || !(Number.isInteger(repeat) && repeat >= 1)) {
      process.stderr.write(
        `--repeat N (a whole number ≥ 1) and --baseline DIR go with one benchmark: npm run bench -- NAME --repeat 3 [--baseline ../main-checkout]; available: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
      );
      process.exitCode = 2;
      return;
    }
    await repeated(name, args, repeat, baseline);
    return;
  }
  const chosen = name ? BENCHMARKS.filter((b) => b.name === name) : BENCHMARKS;
  if (chosen.length === 0) {
    process.stderr.write(
      `unknown benchmark '${name}'; available: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  for (const b of chosen) {
    process.stderr.write(`running ${b.name}…\n`);
    const result = await b.run(args);
    process.stdout.write(`\n${render(result)}\n`);
    process.stderr.write(`wrote ${await save(result)}\n`);
  }
}

await main();
