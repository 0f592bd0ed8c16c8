import { parentPort, workerData } from 'node:worker_threads';
import { type KMeansResult, type Points, type RestartPlan, runRestart, takeRestart } from './kmeans.js';

/** What kmeans-parallel.ts gives a worker: the shared points, the plan, and the shared counter of restarts taken. */
export interface RestartJob {
  points: Points;
  plan: RestartPlan;
  next: Int32Array;
}

/** One restart's result, sent back as soon as it is done. */
export interface RestartOutcome {
  index: number;
  result: KMeansResult;
}

// Run as a worker thread only: the module is also imported for its types.
if (parentPort && workerData) {
  const job = workerData as RestartJob;
  const restarts = job.plan.seeds.length;
  for (let index = takeRestart(job.next); index < restarts; index = takeRestart(job.next)) {
    const result = runRestart(job.points, job.plan, index);
    const outcome: RestartOutcome = { index, result };
    parentPort.postMessage(outcome, [result.assignment.buffer as ArrayBuffer]);
  }
}
