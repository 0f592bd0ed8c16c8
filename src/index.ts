/**
 * segflow's library surface. Everything here is stable API; anything not exported is internal.
 */

export { type ActivationSummary, runActivation } from './activate/activate-run.js';
// The dashboard's page parts (issue 20), each a library function.
export {
  type DeliveryActivity,
  DeliveryActivitySchema,
  deliveryActivity,
} from './activate/delivery-activity.js';
export {
  type AudienceExport,
  type AudienceExportOptions,
  exportAudience,
  listAudienceExports,
} from './activate/destinations/audience-file.js';
export { createDestination } from './activate/destinations/create-destination.js';
export {
  type DeliveryMessage,
  type DeliveryResult,
  type Destination,
  DestinationConfig,
} from './activate/destinations/destination.js';
export { signWebhook } from './activate/destinations/webhook.js';
export {
  type DeliveryRow,
  type DeliveryStatus,
  listDeliveries,
  retryDeliveries,
} from './activate/outbox.js';
export { type PlayTestSend, PlayTestSendSchema, testSendPlay } from './activate/play-test-send.js';
export { loadPlaybook, type Play, Playbook, parsePlaybook, readPlaybook } from './activate/playbook.js';
export {
  checkPlaybookFile,
  checkPlaybookText,
  type PlaybookCheck,
  type PlaybookReferences,
} from './activate/playbook-check.js';
// The CLI beside a running server (docs/cli-and-server.md): which `segflow serve` holds a database, and where.
export { liveServerFor, type ServedDatabase, ServedDatabaseSchema } from './cli/served-database.js';
export type { Dialect } from './engine/dialect.js';
export {
  DEFAULT_DB_PATH,
  type OpenWarehouseOptions,
  openWarehouse,
  rewriteDatabaseFile,
} from './engine/open.js';
export type {
  ConflictRefs,
  PortRenderer,
  ReplaceSnapshotSpec,
  ScratchSpec,
  Statement,
  Storage,
  UpdateFromSpec,
  UpsertSpec,
} from './engine/ports.js';
export { LATEST_SCHEMA_VERSION } from './engine/schema.js';
export type { Row, SqlValue, Warehouse } from './engine/warehouse.js';
export { type ErrorCode, SegflowError } from './errors.js';
export { type GenerateOptions, generateEvents, writeGeneratedFiles } from './generate/index.js';
export {
  API_KEY_ROLES,
  type ApiKeyInfo,
  type ApiKeyRole,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  verifyApiKey,
} from './govern/api-keys.js';
export { type AuditEntry, type AuditRow, readAudit, recordAudit } from './govern/audit.js';
export {
  type BackupResult,
  BackupResultSchema,
  backupDatabase,
  type RestoreResult,
  RestoreResultSchema,
  restoreBackup,
} from './govern/backup.js';
export { confinedDir, confinedFile, dataRootOf } from './govern/confined-path.js';
export {
  type ErasureResult,
  eraseFromStorage,
  markErased,
  type PrivacyRequestRow,
  privacyStatus,
} from './govern/erasure.js';
export {
  findPeople,
  type MatchedPerson,
  normaliseTraitValue,
  PrivacyConfig,
  privacyConfig,
  resolvePeople,
} from './govern/find-people.js';
export {
  type DeleteOptions,
  type DeleteResult,
  deletePerson,
  exportPerson,
  type PrivacyRequestOptions,
  suppressPerson,
} from './govern/privacy.js';
export { type PurgeResult, purgeExpired, RetentionConfig, retentionConfig } from './govern/retention.js';
export {
  type ReviewOptions,
  retireSegment,
  reviewSegments,
  type SegmentReview,
} from './govern/segment-review.js';
export { intakeRate } from './instrument/activity.js';
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
export { type PersonTimeline, PersonTimelineSchema, personTimeline } from './instrument/person-timeline.js';
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
export { DEFAULT_KPIS, KpiDefinition, kpiByName, MeasureConfig, measureConfig } from './measure/kpi.js';
export {
  type LiftKind,
  type LiftOptions,
  type LiftResult,
  meanLift,
  proportionLift,
  ratioLift,
} from './measure/lift.js';
export {
  type KpiLift,
  type MeasureReport,
  type MeasureReportOptions,
  measureReport,
} from './measure/measure-report.js';
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
export {
  type Cluster,
  type ClusterColumn,
  type ClusteringResult,
  type ClusterOptions,
  clusterColumns,
  clusterQuery,
} from './model/clusters/clusters.js';
export {
  type CatalogEntry,
  FEATURE_CATALOG,
  featureColumn,
  featureSource,
  PREDICTED_CATALOG,
} from './model/feature-catalog.js';
export { featureList, featuresByName } from './model/feature-names.js';
export { type LifecycleReport, LifecycleReportSchema, lifecycleReport } from './model/lifecycle-trend.js';
export { ModelConfig, modelConfig } from './model/model-config.js';
export { personScores } from './model/person-scores.js';
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
  fitPurchaseModels,
  getModelFit,
  MODEL_NAMES,
  type ModelName,
  PURCHASE_MODELS,
  type PurchaseModelName,
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
export {
  type PredictionDistributions,
  PredictionDistributionsSchema,
  predictionDistributions,
} from './model/prediction-distributions.js';
export {
  type Classifier,
  type ClassifierOptions,
  fitClassifier,
  importance,
  MODEL_KINDS,
  type ModelChoice,
  type ModelKind,
  predictClassifier,
} from './model/propensity/classifier.js';
export {
  applyEncoding,
  type ColumnEncoding,
  describeEncoding,
  learnEncoding,
  type TableEncoding,
} from './model/propensity/encode-table.js';
export {
  type FileClassifier,
  type FilePropensityOptions,
  fitPropensityFromFile,
  scorePropensityFile,
} from './model/propensity/file-propensity.js';
export { fitGbt, type GbtModel, type GbtOptions, predictGbt } from './model/propensity/gbt.js';
export {
  type Design,
  fitLogistic,
  type LogisticModel,
  predictLogistic,
} from './model/propensity/logistic.js';
export {
  auc,
  type Backtest,
  backtest,
  type CalibrationBin,
  logLoss,
  type RocPoint,
  rocCurve,
} from './model/propensity/metrics.js';
export {
  fitPropensity,
  PROPENSITY_SCORE,
  type PropensityFit,
  type PropensityFitOptions,
  scorePropensity,
} from './model/propensity/propensity.js';
export { type Cell, parseCsv, type RawTable, readTable } from './model/propensity/read-table.js';
export { type ChurnPanel, simulateChurnPanel } from './model/propensity/simulate-churn.js';
export type { PropensityTarget } from './model/propensity/training-frame.js';
export { personFeatures, refreshFeatures } from './model/refresh-features.js';
export {
  type FunnelReport,
  FunnelReportSchema,
  funnelReport,
  type RfmReport,
  rfmReport,
} from './model/reports.js';
export {
  type Candidate,
  type DecideOptions,
  type Decision,
  decide,
  decideFor,
} from './personalize/decide.js';
export { DecideService, DecideSnapshot } from './personalize/decide-snapshot.js';
export {
  ExposureRecorder,
  type ExposureRecorderOptions,
  LOSS_BOUND_MS,
} from './personalize/exposure-recorder.js';
export {
  type Exposure,
  ExposureSchema,
  exposureKey,
  lastExposures,
  writeExposures,
} from './personalize/exposures.js';
export { type CycleInputs, type CycleSummary, cycleInputs, runCycle } from './pipeline/cycle.js';
export { type DueEdge, DueQueue, dueEdges, earliestDue } from './pipeline/due-edges.js';
export {
  type EvaluationReason,
  type StreamEvaluation,
  StreamEvaluator,
  type StreamOptions,
  type StreamStatus,
  StreamStatusSchema,
  streamOffStatus,
} from './pipeline/stream.js';
export {
  type CompiledSegments,
  compileSegments,
  type FeatureColumn,
  type FeatureSource,
} from './segment/compile.js';
export { type Condition, SegmentDefinition, segmentJsonSchema } from './segment/definition.js';
export {
  DEFAULT_SEGMENTS_DIR,
  type FileProblem,
  formatProblem,
  type LoadedDefinition,
  loadDefinitions,
} from './segment/load-definitions.js';
export {
  membershipHistory,
  previewSegment,
  refreshSegments,
  type SegmentMember,
  type SegmentRefreshResult,
  segmentMembers,
} from './segment/memberships.js';
export { type SegmentReport, segmentReport } from './segment/segment-report.js';
export { type DefinitionProblem, validateDefinition } from './segment/validate-definition.js';
export { type ApiRoute, defineRoute } from './server/admin-routes.js';
export {
  buildServer,
  type RunningServer,
  type SegflowServer,
  type ServerOptions,
  type StartOptions,
  startServer,
} from './server/app.js';
export {
  type ArmPlan,
  type ArmRange,
  armAssigner,
  armRanges,
  assignArm,
  HOLDOUT_ARM,
  hashBucket,
  type VariantPlan,
} from './shared/arm-assignment.js';
