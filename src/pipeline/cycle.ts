import { existsSync } from 'node:fs';
import type { Playbook } from '../activate/playbook.js';
import { cachedPlaybook, playbookPath } from '../activate/playbook-file.js';
import { loadConfig } from '../config/config.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { type ModelConfig, modelConfig } from '../model/model-config.js';
import {
  DEFAULT_SEGMENTS_DIR,
  formatProblem,
  type LoadedDefinition,
  loadDefinitions,
} from '../segment/load-definitions.js';
import { type PipelineProgress, type RefreshSummary, runRefreshPipeline } from './refresh-pipeline.js';

/** The summary of one cycle: the refresh pipeline's summary. */
export type CycleSummary = RefreshSummary;

/**
 * One turn of the loop for a running server, configured from the working directory: the model configuration, the
 * segments folder and the playbook, through the refresh pipeline — so that people entering a segment get their play
 * minutes later without anyone running a command. `segflow serve --cycle-every 5m` runs it on a timer;
 * `POST /api/v1/refresh` on demand.
 *
 * @example
 * const summary = await runCycle(wh, { segmentsDir: 'segments', playbook: 'playbook.yaml' });
 */
export async function runCycle(
  wh: Warehouse,
  o: {
    asOf?: Date;
    segmentsDir?: string;
    playbook?: string;
    fullRefresh?: boolean;
    actor?: { actor: string; source: string };
    onProgress?: (p: PipelineProgress) => void;
  } = {},
): Promise<CycleSummary> {
  const inputs = cycleInputs(o);
  return runRefreshPipeline(wh, {
    asOf: o.asOf,
    full: o.fullRefresh ?? false,
    ...inputs,
    actor: o.actor ?? { actor: 'server', source: 'cycle' },
    onProgress: o.onProgress,
  });
}

/** What one turn of the loop reads from the working directory: the model configuration, the segments, the playbook. */
export interface CycleInputs {
  model: ModelConfig;
  segments: LoadedDefinition[];
  playbook: Playbook | null;
}

/**
 * The cycle's inputs as configured now (segflow.config.yaml, the segments folder, the playbook file), read afresh on
 * every call so that an edited file counts at the next turn; invalid segment files fail with every problem listed.
 *
 * @example
 * const { segments, playbook } = cycleInputs({ segmentsDir: 'segments' });
 */
export function cycleInputs(o: { segmentsDir?: string; playbook?: string } = {}): CycleInputs {
  const config = loadConfig();
  const dir = o.segmentsDir ?? config.segments ?? DEFAULT_SEGMENTS_DIR;
  const loaded = existsSync(dir) ? loadDefinitions(dir) : { definitions: [], problems: [] };
  if (loaded.problems.length) {
    throw new SegflowError(
      'SEGMENT_INVALID',
      loaded.problems.map(formatProblem).join('\n'),
      'fix the segment files (`segflow segments check` lists every problem)',
    );
  }
  const path = playbookPath(o.playbook);
  return {
    model: modelConfig(config.model),
    segments: loaded.definitions,
    playbook: existsSync(path) ? cachedPlaybook(path) : null,
  };
}
