import { type ActivationSummary, runActivation } from '../activate/activate-run.js';
import type { Playbook } from '../activate/playbook.js';
import type { Warehouse } from '../engine/warehouse.js';
import { auditDefinitionChanges, definitionVersions } from '../govern/audit.js';
import { type SquashResult, squashPersonOverrides } from '../instrument/persons-on-events.js';
import { featureSource } from '../model/feature-catalog.js';
import type { ModelConfig } from '../model/model-config.js';
import { type FeatureRefresh, refreshFeatures } from '../model/refresh-features.js';
import type { LoadedDefinition } from '../segment/load-definitions.js';
import {
  assertRefreshMovesForward,
  refreshSegments,
  type SegmentRefreshResult,
} from '../segment/memberships.js';

/**
 * The refresh pipeline: one turn of the loop after events are in — fold pending identity merges into the events,
 * features as of T, every active segment (with definition changes audited), then optionally the playbook's triggers
 * and outbox. The CLI (`segflow refresh`), the server's cycle (`serve --cycle-every`, `POST /api/v1/refresh`) and the
 * demo all run this one function, so they cannot drift apart.
 */

export type PipelineStep = 'squash' | 'features' | 'segments' | 'activate';

/** What a long refresh reports while it runs (a terminal draws it; the server logs it). */
export interface PipelineProgress {
  step: PipelineStep;
  phase: 'start' | 'done';
  /** Seconds since the pipeline started. */
  elapsed: number;
  /** People computed or evaluated by the step, once done. */
  people?: number;
  /** One line a person can read: what the step did. */
  detail?: string;
}

export interface RefreshPipelineOptions {
  /** As of this time (default now). History only moves forward for memberships. */
  asOf?: Date;
  /** Recompute everyone from their events instead of starting from the last refresh. */
  full?: boolean;
  model: ModelConfig;
  /** Segment definitions to evaluate; none (or an empty list) refreshes features only. */
  segments?: readonly LoadedDefinition[];
  /** The playbook to act on after the segments; none skips activation. */
  playbook?: Playbook | null;
  /** Who refreshed: definition changes are audited under this actor. */
  actor: { actor: string; source: string };
  onProgress?: (p: PipelineProgress) => void;
}

export interface RefreshSummary {
  asOf: Date;
  /** People with a feature row as of T. */
  persons: number;
  /** Identity merges folded into the events before reading them. */
  squashed: SquashResult;
  features: FeatureRefresh;
  /** Each segment's size and movement (empty without segments). */
  segments: { name: string; size: number; entered: number; exited: number }[];
  /** How the segments were refreshed; null without segments. */
  segmentRefresh: SegmentRefreshResult | null;
  activation: ActivationSummary | null;
  seconds: number;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Run the refresh pipeline.
 *
 * @example
 * const summary = await runRefreshPipeline(wh, {
 *   model: modelConfig(),
 *   segments: loadDefinitions('segments').definitions,
 *   actor: { actor: 'cli:ana', source: 'cli' },
 *   onProgress: (p) => console.error(p.step, p.phase, p.detail ?? ''),
 * });
 */
export async function runRefreshPipeline(wh: Warehouse, o: RefreshPipelineOptions): Promise<RefreshSummary> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const asOf = o.asOf ?? new Date();
  const report = (p: Omit<PipelineProgress, 'elapsed'>) => o.onProgress?.({ ...p, elapsed: elapsed() });

  // Reads are cheapest with no override to apply; folding them in first changes no result.
  // Refused before anything is written: a refused refresh must not leave a features snapshot behind.
  if (o.segments) await assertRefreshMovesForward(wh, asOf);
  report({ step: 'squash', phase: 'start' });
  const squashed = await squashPersonOverrides(wh);
  report({
    step: 'squash',
    phase: 'done',
    detail: squashed.overrides
      ? `${count(squashed.overrides)} identity merges folded into ${count(squashed.events)} events`
      : 'no pending identity merges',
  });

  report({ step: 'features', phase: 'start' });
  const features = await refreshFeatures(wh, o.model, { asOf, full: o.full ?? false });
  report({
    step: 'features',
    phase: 'done',
    people: features.persons,
    detail: `features: ${count(features.persons)} people in ${features.seconds.toFixed(1)} s (${
      features.mode === 'incremental'
        ? `incremental since ${features.since?.toISOString()}: ${count(features.recomputed)} recomputed, the rest carried over`
        : 'full'
    })`,
  });

  let segmentRefresh: SegmentRefreshResult | null = null;
  if (o.segments?.length) {
    report({ step: 'segments', phase: 'start' });
    const versions = await definitionVersions(wh, 'segments');
    segmentRefresh = await refreshSegments(wh, o.segments, {
      asOf,
      features: featureSource(wh.dialect),
      full: o.full ?? false,
    });
    await auditDefinitionChanges(wh, 'segments', versions, o.actor);
    report({
      step: 'segments',
      phase: 'done',
      people: segmentRefresh.recomputed,
      detail: `segments: ${
        segmentRefresh.mode === 'incremental'
          ? `incremental, ${count(segmentRefresh.recomputed)} people re-evaluated, the rest kept their memberships`
          : `full, ${count(segmentRefresh.recomputed)} people evaluated`
      } in ${segmentRefresh.seconds.toFixed(1)} s`,
    });
  }

  let activation: ActivationSummary | null = null;
  if (o.playbook) {
    report({ step: 'activate', phase: 'start' });
    const playVersions = await definitionVersions(wh, 'plays');
    activation = await runActivation(wh, o.playbook, { asOf });
    await auditDefinitionChanges(wh, 'plays', playVersions, o.actor);
    report({ step: 'activate', phase: 'done', detail: `activation: ${activation.plays.length} plays` });
  }

  return {
    asOf,
    persons: features.persons,
    squashed,
    features,
    segments:
      segmentRefresh?.segments.map((s) => ({
        name: s.name,
        size: s.size,
        entered: s.entered,
        exited: s.exited,
      })) ?? [],
    segmentRefresh,
    activation,
    seconds: elapsed(),
  };
}
