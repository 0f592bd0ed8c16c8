import { existsSync } from 'node:fs';
import { loadConfig } from '../config/config.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { featureSource } from '../model/feature-catalog.js';
import { modelConfig } from '../model/model-config.js';
import { refreshFeatures } from '../model/refresh-features.js';
import { DEFAULT_SEGMENTS_DIR, formatProblem, loadDefinitions } from '../segment/load-definitions.js';
import { assertRefreshMovesForward, refreshSegments } from '../segment/memberships.js';
import { type ActivationSummary, runActivation } from './activate-run.js';
import { cachedPlaybook, playbookPath } from './playbook-file.js';

/**
 * One turn of the loop for a running server: features as of now, every segment (from the segments folder), then
 * the playbook's triggers and outbox — so that people entering a segment get their play minutes later without
 * anyone running a command. `segflow serve --cycle-every 5m` runs it on a timer; `POST /api/v1/refresh` on demand.
 */
export interface CycleSummary {
  asOf: Date;
  persons: number;
  /** How the features were refreshed ('incremental': `recomputed` people from their events, the rest carried). */
  features: { mode: 'full' | 'incremental'; recomputed: number; seconds: number };
  segments: { name: string; size: number; entered: number; exited: number }[];
  /** How the segments were refreshed: 'incremental' re-evaluated only `recomputed` people (null: no segments folder). */
  segmentRefresh: { mode: 'full' | 'incremental'; recomputed: number; seconds: number } | null;
  activation: ActivationSummary | null;
  seconds: number;
}

export async function runCycle(
  wh: Warehouse,
  o: { asOf?: Date; segmentsDir?: string; playbook?: string; fullRefresh?: boolean } = {},
): Promise<CycleSummary> {
  const started = performance.now();
  const asOf = o.asOf ?? new Date();
  const config = loadConfig();
  await assertRefreshMovesForward(wh, asOf);
  const features = await refreshFeatures(wh, modelConfig(config.model), {
    asOf,
    full: o.fullRefresh ?? false,
  });
  const dir = o.segmentsDir ?? config.segments ?? DEFAULT_SEGMENTS_DIR;
  let segments: CycleSummary['segments'] = [];
  let segmentRefresh: CycleSummary['segmentRefresh'] = null;
  if (existsSync(dir)) {
    const loaded = loadDefinitions(dir);
    if (loaded.problems.length) {
      throw new SegflowError(
        'SEGMENT_INVALID',
        loaded.problems.map(formatProblem).join('\n'),
        'fix the segment files (`segflow segments check` lists every problem)',
      );
    }
    const r = await refreshSegments(wh, loaded.definitions, {
      asOf,
      features: featureSource(wh.dialect),
      full: o.fullRefresh ?? false,
    });
    segments = r.segments.map((s) => ({ name: s.name, size: s.size, entered: s.entered, exited: s.exited }));
    segmentRefresh = { mode: r.mode, recomputed: r.recomputed, seconds: r.seconds };
  }
  const path = playbookPath(o.playbook);
  const activation = existsSync(path) ? await runActivation(wh, cachedPlaybook(path), { asOf }) : null;
  return {
    asOf,
    persons: features.persons,
    features: { mode: features.mode, recomputed: features.recomputed, seconds: features.seconds },
    segments,
    segmentRefresh,
    activation,
    seconds: (performance.now() - started) / 1000,
  };
}
