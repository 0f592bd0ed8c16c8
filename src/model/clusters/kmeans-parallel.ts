import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  bestRestart,
  type KMeansArgs,
  type KMeansResult,
  kMeans,
  planRestarts,
  runRestart,
  takeRestart,
} from './kmeans.js';
import type { RestartJob, RestartOutcome } from './kmeans-worker.js';

/**
 * Below this many point-centroid pairs a restart takes a few milliseconds, less than starting a thread.
 * (1M people × k = 8 is 8M; the selection fits on 20,000 rows stay on the calling thread.)
 */
const PARALLEL_FROM = 2_000_000;

/**
 * The worker's module beside this one: `.ts` when running from source (tsx), `.js` from dist/ and from the bundled
 * CLI (where scripts/bundle-cli.mjs writes it beside the chunks).
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`./kmeans-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/**
 * A worker thread running kmeans-worker. From source (the tests, `npm run bench`) the worker first registers the
 * TypeScript loader itself: on Node 20 a worker's `--import` does not apply to its entry module.
 */
function startWorker(workerData: RestartJob): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData });
  const code = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

/**
 * k-means with its restarts spread over threads, as scikit-learn spreads its iterations over OpenMP threads: the
 * calling thread and one worker thread per further core (at most one thread per restart) take restarts from a shared
 * counter until none is left, so the calling thread starts at once, a worker joins when it has started, and a thread
 * that drew short restarts takes more. The calling thread is busy for its share (as with `kMeans`). The result is
 * exactly `kMeans`'s: each restart has its own seed, and the best is chosen in restart order. Small inputs run on the
 * calling thread alone.
 *
 * @example
 * const fit = await kMeansParallel({ points: { data, n, d: 3 }, k: 8, rng: createRng(1, 0), restarts: 4 });
 */
export async function kMeansParallel(
  args: KMeansArgs & {
    threads?: number;
    parallelFrom?: number;
    /** false: every restart on a worker thread, so that the calling thread's event loop stays free (default true). */
    callingThread?: boolean;
  },
): Promise<KMeansResult> {
  const restarts = args.restarts ?? 4;
  const threads = Math.min(args.threads ?? availableParallelism(), restarts);
  if (threads <= 1 || args.points.n * args.k < (args.parallelFrom ?? PARALLEL_FROM)) return kMeans(args);
  const plan = planRestarts(args);
  // The points are shared, not copied per thread (nor at all when the caller's are in shared memory already).
  let shared = args.points.data;
  if (!(shared.buffer instanceof SharedArrayBuffer)) {
    shared = new Float64Array(new SharedArrayBuffer(args.points.data.byteLength));
    shared.set(args.points.data);
  }
  const points = { data: shared, n: args.points.n, d: args.points.d };
  const next = new Int32Array(new SharedArrayBuffer(4));
  const results: KMeansResult[] = new Array(restarts);
  const helps = args.callingThread ?? true;
  const workers = Array.from(
    { length: helps ? threads - 1 : threads },
    () =>
      new Promise<void>((resolve, reject) => {
        const job: RestartJob = { points, plan, next };
        const worker = startWorker(job);
        worker.on('message', (outcome: RestartOutcome) => {
          results[outcome.index] = outcome.result;
        });
        worker.once('error', reject);
        worker.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`k-means worker stopped with exit code ${code}`)),
        );
      }),
  );
  for (let i = takeRestart(next); i < restarts; i = takeRestart(next))
    results[i] = runRestart(points, plan, i);
  await Promise.all(workers);
  return bestRestart(results);
}
