import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { bestRestart, type KMeansArgs, type KMeansResult, kMeans, planRestarts } from './kmeans.js';
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
 * k-means with its restarts spread over worker threads (one per core, at most one per restart), as scikit-learn
 * spreads its iterations over OpenMP threads. The result is exactly `kMeans`'s: each restart has its own seed, and
 * the best is chosen in restart order. Small inputs run on the calling thread.
 *
 * @example
 * const fit = await kMeansParallel({ points: { data, n, d: 3 }, k: 8, rng: createRng(1, 0), restarts: 4 });
 */
export async function kMeansParallel(
  args: KMeansArgs & { threads?: number; parallelFrom?: number },
): Promise<KMeansResult> {
  const restarts = args.restarts ?? 4;
  const threads = Math.min(args.threads ?? availableParallelism(), restarts);
  if (threads <= 1 || args.points.n * args.k < (args.parallelFrom ?? PARALLEL_FROM)) return kMeans(args);
  const plan = planRestarts(args);
  // The points are shared, not copied per thread.
  const shared = new Float64Array(new SharedArrayBuffer(args.points.data.byteLength));
  shared.set(args.points.data);
  const points = { data: shared, n: args.points.n, d: args.points.d };
  const results: KMeansResult[] = new Array(restarts);
  const queues = Array.from({ length: threads }, (_, t) =>
    plan.seeds.map((_, i) => i).filter((i) => i % threads === t),
  );
  await Promise.all(
    queues.map(
      (indices) =>
        new Promise<void>((resolve, reject) => {
          const job: RestartJob = { points, plan, indices };
          const worker = startWorker(job);
          worker.on('message', (outcome: RestartOutcome) => {
            results[outcome.index] = outcome.result;
          });
          worker.once('error', reject);
          worker.once('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`k-means worker stopped with exit code ${code}`)),
          );
        }),
    ),
  );
  return bestRestart(results);
}
