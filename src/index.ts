/**
 * segflow's library surface. Everything here is stable API; anything not exported is internal.
 */

export type { Dialect } from './engine/dialect.js';
export { DEFAULT_DB_PATH, type OpenWarehouseOptions, openWarehouse } from './engine/open.js';
export { LATEST_SCHEMA_VERSION } from './engine/schema.js';
export type { Row, SqlValue, Warehouse } from './engine/warehouse.js';
export { type ErrorCode, SegflowError } from './errors.js';
export { identifiersOf, resolvePerson } from './instrument/identity-graph.js';
export {
  IMPORT_FORMATS,
  type ImportFormat,
  type ImportOptions,
  type ImportSummary,
  importFile,
} from './instrument/import/import-file.js';
export { ImportMapping } from './instrument/import/mapping.js';
export { IMPORT_PRESETS, type ImportPreset } from './instrument/import/presets.js';
export type { IngestCounts, IngestOptions, RejectedRow } from './instrument/ingest.js';
export { ingestJsonTexts, ingestMessages } from './instrument/ingest-messages.js';
export { getPerson, type PersonProfile } from './instrument/profiles.js';
export {
  MAX_EVENT_BYTES,
  MESSAGE_TYPES,
  type MessageType,
  PLACEHOLDER_IDS,
  type SegmentMessage,
} from './instrument/segment-spec.js';
export { summarize, type WarehouseSummary } from './instrument/summary.js';
export type {
  ArmStats,
  MeanAggregate,
  Moments,
  ProportionAggregate,
  RatioAggregate,
} from './measure/arm-stats.js';
export {
  type ArmPlan,
  type ArmRange,
  armAssigner,
  armRanges,
  assignArm,
  HOLDOUT_ARM,
  hashBucket,
  type VariantPlan,
} from './measure/assignment.js';
export {
  benjaminiHochberg,
  CORRECTION_METHODS,
  type CorrectionMethod,
  type CorrectionResult,
  correctPValues,
  holm,
} from './measure/corrections.js';
export {
  type CovariateAggregate,
  type CupedArmStats,
  type CupedLiftResult,
  cupedLift,
} from './measure/cuped.js';
export type { Estimate, Interval } from './measure/inference.js';
export {
  type LiftKind,
  type LiftOptions,
  type LiftResult,
  meanLift,
  proportionLift,
  ratioLift,
} from './measure/lift.js';
export {
  achievedPower,
  type Effect,
  type MdeResult,
  minimumDetectableEffect,
  type PowerDesign,
  type PowerMetric,
  requiredPeople,
  type SampleSizeResult,
} from './measure/power.js';
export { SRM_THRESHOLD, type SrmResult, sampleRatioMismatch } from './measure/srm.js';
