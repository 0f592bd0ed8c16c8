import { activateBenchmark } from './activate.js';
import { collectBenchmark } from './collect.js';
import { dashboardBenchmark } from './dashboard.js';
import { decideBenchmark } from './decide.js';
import { enginesBenchmark } from './engines.js';
import { type Benchmark, render, save } from './harness.js';
import { importBenchmark } from './import.js';
import { modelsBenchmark } from './models.js';
import { propensityBenchmark } from './propensity.js';
import { realtimeBenchmark } from './realtime.js';
import { refreshBenchmark } from './refresh.js';
import { segmentsBenchmark } from './segments.js';

/** `npm run bench [-- NAME [args…]]`: run one benchmark, or all of them. */
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

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
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
