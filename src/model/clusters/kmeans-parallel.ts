import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { leadTeam, newControl, stopTeam } from './chunk-team.js';
import {
  fitRestarts,
  type KMeansArgs,
  type KMeansResult,
  kMeans,
  newKMeansState,
  planRestarts,
  runPass,
} from './kmeans.js';
import type { TeamJob } from './kmeans-worker.js';

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
function startWorker(workerData: TeamJob): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData });
  const code = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

/** A worker's end: resolves when it exits cleanly, with its message (the lead's result) if it sent one. */
function finished(worker: Worker): Promise<KMeansResult | undefined> {
  return new Promise((resolve, reject) => {
    let result: KMeansResult | undefined;
    worker.on('message', (message: KMeansResult) => {
      result = message;
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      code === 0 ? resolve(result) : reject(new Error(`k-means worker stopped with exit code ${code}`)),
    );
  });
}

/**
 * k-means with every pass over the points shared among threads, as scikit-learn shares its iterations among OpenMP
 * threads: the restarts run one after another, and within each, the calling thread and one worker thread per further
 * core claim chunks of points (chunk-team.ts) until none is left. So both cores work to the end of every restart
 * (with a restart per thread, the thread that drew the longer restarts ran on alone), a worker joins as soon as it
 * has started, and the working arrays are allocated once for all restarts. The calling thread is busy meanwhile (as
 * with `kMeans`) unless `callingThread` is false. The result is exactly `kMeans`'s with the same chunk size: chunk
 * results are added in chunk order, whichever thread ran them. Small inputs run on the calling thread alone.
 *
 * @example
 * const fit = await kMeansParallel({ points: { data, n, d: 3 }, k: 8, rng: createRng(1, 0), restarts: 4 });
 */
export async function kMeansParallel(
  args: KMeansArgs & {
    threads?: number;
    parallelFrom?: number;
    /** false: the restarts led from a worker thread, so that the calling thread's event loop stays free (default true). */
    callingThread?: boolean;
  },
): Promise<KMeansResult> {
  const threads = args.threads ?? availableParallelism();
  if (threads <= 1 || args.points.n * args.k < (args.parallelFrom ?? PARALLEL_FROM)) return kMeans(args);
  // The points are shared, not copied per thread (nor at all when the caller's are in shared memory already).
  const given = args.points.data;
  const inShared = given.buffer instanceof SharedArrayBuffer;
  const data = inShared ? given : new Float64Array(new SharedArrayBuffer(given.byteLength));
  const state = newKMeansState({ data, n: args.points.n, d: args.points.d }, args.k, true, args.chunkSize);
  const control = newControl();
  const start = (job: TeamJob) => finished(startWorker(job));
  const helpers = (count: number) =>
    Array.from({ length: count }, () => start({ role: 'helper', state, control }));
  if (args.callingThread === false) {
    if (!inShared) data.set(given);
    const plan = planRestarts(args);
    const [result] = await Promise.all([
      start({ role: 'lead', state, control, plan }),
      ...helpers(Math.min(threads, state.chunks) - 1),
    ]);
    if (!result) throw new Error('k-means: the lead worker sent no result');
    return result;
  }
  // The helpers start first, and boot while this thread copies the points and plans the restarts (the tolerance is a
  // pass over every point): a helper reads the shared arrays only once a pass is published.
  const helpersDone = Promise.all(helpers(Math.min(threads, state.chunks) - 1));
  const run = leadTeam(control, state.chunks, (pass, arg, chunk) => runPass(state, pass, arg, chunk));
  let result: KMeansResult;
  try {
    if (!inShared) data.set(given);
    result = fitRestarts(state, planRestarts(args), run);
  } catch (error) {
    stopTeam(control);
    await helpersDone.catch(() => undefined); // the lead's error is the one to report
    throw error;
  }
  stopTeam(control);
  await helpersDone;
  return result;
}
