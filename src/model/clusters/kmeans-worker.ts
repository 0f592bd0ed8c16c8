import { parentPort, workerData } from 'node:worker_threads';
import { helpTeam, leadTeam, stopTeam } from './chunk-team.js';
import { fitRestarts, type KMeansResult, type KMeansState, type RestartPlan, runPass } from './kmeans.js';

/**
 * What kmeans-parallel.ts gives a worker: the working arrays and the control words, all in shared memory. A helper
 * runs the chunks of each pass it is given; a lead (when the calling thread must stay free) runs the restarts, with
 * the helpers, and sends back the best.
 */
export interface TeamJob {
  role: 'lead' | 'helper';
  state: KMeansState;
  control: Int32Array;
  /** The lead's only. */
  plan?: RestartPlan;
}

// Run as a worker thread only: the module is also imported for its types.
if (parentPort && workerData) {
  const { role, state, control, plan } = workerData as TeamJob;
  const work = (pass: number, arg: number, chunk: number) => runPass(state, pass, arg, chunk);
  if (role === 'helper') {
    helpTeam(control, state.chunks, work);
  } else {
    let result: KMeansResult;
    try {
      if (!plan) throw new Error('k-means: a lead worker without a plan');
      result = fitRestarts(state, plan, leadTeam(control, state.chunks, work));
    } finally {
      stopTeam(control);
    }
    parentPort.postMessage(result, [result.assignment.buffer as ArrayBuffer]);
  }
}
