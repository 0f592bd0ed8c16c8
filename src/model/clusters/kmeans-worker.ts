import { parentPort, workerData } from 'node:worker_threads';
import { type KMeansResult, type Points, type RestartPlan, runRestart } from './kmeans.js';

/** What kmeans-parallel.ts gives a worker: the shared points, the plan, and which restarts are this worker's. */
export interface RestartJob {
  points: Points;
  plan: RestartPlan;
  indices: number[];
}

/** One restart's result, sent back as soon as it is done. */
export interface RestartOutcome {
  index: number;
  result: KMeansResult;
}

// Run as a worker thread only: the module is also imported for its types.
if (parentPort && workerData) {
  const job = workerData as RestartJob;
  for (const index of job.indices) {
    const result = runRestart(job.points, job.plan, index);
    const outcome: RestartOutcome = { index, result };
    parentPort.postMessage(outcome, [result.assignment.buffer as ArrayBuffer]);
  }
}
