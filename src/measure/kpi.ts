import { z } from 'zod';
import { Duration } from '../config/duration.js';
import { SegflowError } from '../errors.js';

/**
 * KPIs: what a play is judged on, per person, over a window that starts at the person's first exposure to the play
 * (t0). Each kind says what its per-person value is; the pre-period (the same window length before t0) gives the
 * CUPED covariate where the kind has one.
 *
 * - conversion: 1 if the event (optionally with a property value) happened in (t0, t0 + within], else 0.
 * - activation: the same, for the key feature (e.g. event Feature Used, property feature = reports).
 * - revenue: the sum of `revenue` of the purchase events in (t0, t0 + within] (0 if none): revenue per person.
 * - ltv: realised lifetime value — revenue over (t0, t0 + horizon]; or `predicted: true` for the BG/NBD ×
 *   Gamma-Gamma CLV of the `predictions` table (latest scoring at or before the report's time; no covariate).
 * - retention: 1 if active (any track, page or screen) in period k after t0, (t0 + (k−1)·period, t0 + k·period].
 * - repeat_purchase: among people who had bought before t0, 1 if they bought again in (t0, t0 + within].
 * - grr / nrr: subscription revenue retention over a period, a ratio of sums (delta method): among people with
 *   revenue in (t0 − period, t0], GRR = Σ min(after, before) / Σ before, NRR = Σ after / Σ before.
 */
const Match = {
  event: z.string().min(1),
  property: z.string().min(1).optional(),
  equals: z.string().optional(),
};

export const KpiDefinition = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('conversion'), ...Match, within: Duration }),
  z.strictObject({ kind: z.literal('activation'), ...Match, within: Duration }),
  z.strictObject({
    kind: z.literal('revenue'),
    events: z.array(z.string().min(1)).min(1).optional(),
    within: Duration,
  }),
  z.strictObject({
    kind: z.literal('ltv'),
    events: z.array(z.string().min(1)).min(1).optional(),
    horizon: Duration.optional(),
    predicted: z.boolean().default(false),
  }),
  z.strictObject({ kind: z.literal('retention'), period: Duration, k: z.int().min(1).default(1) }),
  z.strictObject({
    kind: z.literal('repeat_purchase'),
    events: z.array(z.string().min(1)).min(1).optional(),
    within: Duration,
  }),
  z.strictObject({
    kind: z.literal('grr'),
    events: z.array(z.string().min(1)).min(1).optional(),
    period: Duration,
  }),
  z.strictObject({
    kind: z.literal('nrr'),
    events: z.array(z.string().min(1)).min(1).optional(),
    period: Duration,
  }),
]);
export type KpiDefinition = z.infer<typeof KpiDefinition>;

/** The `measure:` section of segflow.config.yaml: named KPIs that playbook rows refer to. */
export const MeasureConfig = z
  .strictObject({
    kpis: z
      .record(z.string().regex(/^[a-z0-9_]+$/, 'lowercase letters, digits and _'), KpiDefinition)
      .default({}),
    purchaseEvents: z.array(z.string().min(1)).min(1).default(['Order Completed']),
  })
  .prefault({});
export type MeasureConfig = z.infer<typeof MeasureConfig>;

/** KPIs every segflow knows, so a playbook's `kpi: repeat_rate` works without configuration. */
export const DEFAULT_KPIS: Record<string, KpiDefinition> = {
  conversion_rate: { kind: 'conversion', event: 'Order Completed', within: '14d' },
  revenue_per_person: { kind: 'revenue', within: '30d' },
  repeat_rate: { kind: 'repeat_purchase', within: '30d' },
  recovery_rate: { kind: 'conversion', event: 'Order Completed', within: '7d' },
  activation: {
    kind: 'activation',
    event: 'Feature Used',
    property: 'feature',
    equals: 'reports',
    within: '14d',
  },
  qualified_lead_rate: { kind: 'conversion', event: 'Demo Requested', within: '30d' },
  retention_week_2: { kind: 'retention', period: '7d', k: 2 },
  ltv_90d: { kind: 'ltv', horizon: '90d', predicted: false },
};

export function measureConfig(section: unknown): MeasureConfig {
  const parsed = MeasureConfig.safeParse(section ?? {});
  if (!parsed.success) {
    throw new SegflowError(
      'CONFIG_INVALID',
      parsed.error.issues.map((i) => `measure.${i.path.join('.')}: ${i.message}`).join('\n'),
      'see docs/measure.md for the KPI kinds and their fields',
    );
  }
  return parsed.data;
}

/** A KPI by name: the configured ones first, then the defaults. */
export function kpiByName(cfg: MeasureConfig, name: string): KpiDefinition {
  const kpi = cfg.kpis[name] ?? DEFAULT_KPIS[name];
  if (!kpi) {
    throw new SegflowError(
      'CONFIG_INVALID',
      `unknown KPI '${name}'`,
      `define it under measure.kpis in segflow.config.yaml, or use one of: ${[...new Set([...Object.keys(cfg.kpis), ...Object.keys(DEFAULT_KPIS)])].join(', ')}`,
    );
  }
  return kpi;
}
