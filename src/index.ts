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
export {
  type Cluster,
  type ClusterColumn,
  type ClusteringResult,
  type ClusterOptions,
  clusterColumns,
  clusterQuery,
} from './model/clusters/clusters.js';
export {
  type BgNbdFit,
  type BgNbdModel,
  type BgNbdParams,
  bgnbdExpectedPurchases,
  bgnbdExpectedPurchasesFromStart,
  bgnbdLogLikelihood,
  bgnbdProbabilityAlive,
  bgnbdProbabilityOfPurchases,
  fitBgNbd,
} from './model/predict/bgnbd.js';
export {
  customerLifetimeValue,
  type DiscountRate,
  discountedPurchases,
  type LifetimeValueOptions,
} from './model/predict/clv.js';
export type { BgNbdDiagnostics, GammaGammaDiagnostics } from './model/predict/diagnostics.js';
export {
  fitGammaGamma,
  type GammaGammaFit,
  type GammaGammaParams,
  gammaGammaExpectedOrderValue,
  gammaGammaLogLikelihood,
  gammaGammaPopulationMean,
} from './model/predict/gamma-gamma.js';
export {
  fitClusterModel,
  fitPurchaseModel,
  getModelFit,
  MODEL_NAMES,
  type ModelName,
  type PurchaseModelOptions,
  type StoredFit,
} from './model/predict/model-fits.js';
export { type ScoreOptions, type ScoreSummary, scorePredictions } from './model/predict/score.js';
export { simulateBgNbd } from './model/predict/simulate.js';
export type { MonetarySummaries, PurchaseHistory, RfmSummaries } from './model/predict/summaries-types.js';
export {
  type CalibrationWindow,
  type PurchaseDefinition,
  type PurchaseSummaries,
  type SummarizeOptions,
  summarizePurchases,
} from './model/predict/summarize.js';
export { type Duration, TIME_UNITS, type TimeUnit } from './model/predict/time-unit.js';
