import type { Warehouse } from '../engine/warehouse.js';
import type { PipelineProgress } from '../pipeline/refresh-pipeline.js';
import { log, progressBar } from './output.js';

/**
 * Progress of the refresh pipeline on stderr: a bar per step while it runs (the engine's own progress of the running
 * statement, drawn on a terminal only) and one line per finished step (always, so a log shows what took how long).
 *
 * @example
 * await runRefreshPipeline(wh, { …, onProgress: pipelineProgress(wh) });
 */
export function pipelineProgress(wh: Warehouse): (p: PipelineProgress) => void {
  let bar: ReturnType<typeof progressBar> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
    bar?.done();
    bar = null;
  };
  return (p) => {
    if (p.phase === 'start') {
      stop();
      const since = performance.now();
      const current = progressBar(p.step.padEnd(8));
      bar = current;
      timer = setInterval(
        () => current.update(wh.progress(), `${((performance.now() - since) / 1000).toFixed(0)} s`),
        250,
      );
      timer.unref();
      return;
    }
    stop();
    // A squash with nothing to fold is not worth a line.
    if (p.detail && !(p.step === 'squash' && p.people === undefined && p.detail.startsWith('no ')))
      log(p.detail);
  };
}
