/** The behaviour generator: simulated people with latent archetypes emitting Segment-spec events, plus ground truth. */

export { ECOMMERCE_ARCHETYPES, type EcommerceArchetype } from './ecommerce.js';
export {
  DEFAULT_MIX,
  DEFAULT_START,
  defaultTruthPath,
  type GenerateOptions,
  type GeneratorProfile,
  type GroundTruth,
  generateEvents,
  type SegmentEvent,
  writeGeneratedFiles,
} from './generate.js';
export { FEATURES, KEY_FEATURE, SAAS_ARCHETYPES, type SaasArchetype } from './saas.js';
