import { z } from 'zod';
import type { Dialect } from '../engine/dialect.js';
import type { Params } from '../engine/params.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * The features segments can use, by the dotted names people write (`rfm.r + rfm.f >= 8`, `engagement.tier`), with
 * the column each reads in the `features` table, its kind and, for labels, the values it takes.
 */
export interface CatalogEntry {
  name: string;
  column: string;
  kind: 'number' | 'text' | 'boolean';
  description: string;
  values?: readonly string[];
}

const RFM_GROUPS = [
  'Champions',
  'Loyal Customers',
  'Potential Loyalists',
  'New Customers',
  'Promising',
  'Need Attention',
  'About to Sleep',
  'At Risk',
  "Can't Lose Them",
  'Hibernating',
  'Lost',
] as const;

export const FEATURE_CATALOG: readonly CatalogEntry[] = [
  {
    name: 'rfm.recency_days',
    column: 'rfm_recency_days',
    kind: 'number',
    description: 'days since the last purchase (fractional)',
  },
  { name: 'rfm.frequency', column: 'rfm_frequency', kind: 'number', description: 'purchases up to T' },
  {
    name: 'rfm.repeat_purchases',
    column: 'rfm_repeat_purchases',
    kind: 'number',
    description: 'days with a purchase, minus one (the customer-base models’ x)',
  },
  {
    name: 'rfm.monetary_total',
    column: 'rfm_monetary_total',
    kind: 'number',
    description: 'revenue of all purchases',
  },
  {
    name: 'rfm.monetary_avg',
    column: 'rfm_monetary_avg',
    kind: 'number',
    description: 'average order value',
  },
  {
    name: 'rfm.r',
    column: 'rfm_r',
    kind: 'number',
    description: 'recency quintile score 1–5 (5 = most recent)',
  },
  { name: 'rfm.f', column: 'rfm_f', kind: 'number', description: 'frequency quintile score 1–5' },
  { name: 'rfm.m', column: 'rfm_m', kind: 'number', description: 'monetary quintile score 1–5' },
  { name: 'rfm.rf_sum', column: 'rfm_rf_sum', kind: 'number', description: 'R + F' },
  { name: 'rfm.code', column: 'rfm_code', kind: 'text', description: 'three-digit RFM code, e.g. 545' },
  {
    name: 'rfm.group',
    column: 'rfm_group',
    kind: 'text',
    description: 'named group from the R×F map',
    values: RFM_GROUPS,
  },
  {
    name: 'lifecycle.stage',
    column: 'lifecycle_stage',
    kind: 'text',
    description: 'lifecycle stage',
    values: ['new lead', 'activated', 'engaged', 'loyal advocate', 'at risk', 'churned'],
  },
  {
    name: 'engagement.score',
    column: 'engagement_score',
    kind: 'number',
    description: 'decayed engagement score',
  },
  {
    name: 'engagement.tier',
    column: 'engagement_tier',
    kind: 'text',
    description: 'engagement tier',
    values: ['highly engaged', 'moderately engaged', 'inactive'],
  },
  {
    name: 'adoption.breadth',
    column: 'adoption_breadth',
    kind: 'number',
    description: 'distinct features used in the window',
  },
  {
    name: 'adoption.uses',
    column: 'adoption_uses',
    kind: 'number',
    description: 'feature uses in the window',
  },
  {
    name: 'adoption.key_activated',
    column: 'adoption_key_activated',
    kind: 'boolean',
    description: 'ever used a key feature',
  },
  {
    name: 'adoption.usage_share',
    column: 'adoption_usage_share',
    kind: 'number',
    description: 'latest usage / plan limit',
  },
  {
    name: 'adoption.nearing_limit',
    column: 'adoption_nearing_limit',
    kind: 'boolean',
    description: 'usage share at or above the threshold (0.8)',
  },
  {
    name: 'adoption.tier',
    column: 'adoption_tier',
    kind: 'text',
    description: 'adoption tier',
    values: ['power', 'regular', 'light', 'dormant'],
  },
  { name: 'intent.score', column: 'intent_score', kind: 'number', description: 'decayed intent score' },
  {
    name: 'intent.tier',
    column: 'intent_tier',
    kind: 'text',
    description: 'intent tier',
    values: ['high', 'medium', 'low'],
  },
  {
    name: 'support.tickets',
    column: 'support_tickets',
    kind: 'number',
    description: 'tickets created in the window',
  },
  {
    name: 'support.open_tickets',
    column: 'support_open_tickets',
    kind: 'number',
    description: 'tickets created and not resolved',
  },
  { name: 'support.last_csat', column: 'support_last_csat', kind: 'number', description: 'last CSAT score' },
  {
    name: 'support.last_nps',
    column: 'support_last_nps',
    kind: 'number',
    description: 'last NPS score (0–10)',
  },
  { name: 'support.detractor', column: 'support_detractor', kind: 'boolean', description: 'last NPS ≤ 6' },
];

const DYNAMIC = /^(adoption\.power_user|adoption\.depth|funnel)\.([a-z0-9_-]+)(\.(step|abandoned))?$/i;

/** The column expression (over alias `f`) for a feature name, including per-feature and per-funnel names. */
export function featureColumn(
  d: Dialect,
  name: string,
): { sql: string; kind: CatalogEntry['kind'] } | undefined {
  const entry = FEATURE_CATALOG.find((e) => e.name === name);
  if (entry) return { sql: `f.${entry.column}`, kind: entry.kind };
  const m = DYNAMIC.exec(name);
  if (!m) return undefined;
  // The key is restricted to [a-z0-9_-] by the pattern above, so it is safe as a quoted JSON path and literal.
  const key = m[2]!;
  if (m[1] === 'adoption.power_user' && !m[3])
    return {
      sql: `coalesce(${d.jsonArrayHas('f.adoption_power_features', `'${key}'`)}, FALSE)`,
      kind: 'boolean',
    };
  if (m[1] === 'adoption.depth' && !m[3])
    return {
      sql: `coalesce(${d.toDouble(d.jsonText('f.adoption_depth', `'$."${key}"'`))}, 0)`,
      kind: 'number',
    };
  if (m[1] === 'funnel' && m[4] === 'step')
    return {
      sql: `coalesce(${d.toDouble(d.jsonText('f.funnel_steps', `'$."${key}"'`))}, 0)`,
      kind: 'number',
    };
  if (m[1] === 'funnel' && m[4] === 'abandoned')
    return {
      // A boolean column's value (ClickHouse's comparison is a 0/1 integer, which text tests would read as '1').
      sql: d.asColumnType(
        `coalesce(${d.jsonText('f.funnel_abandoned', `'$."${key}"'`)} = 'true', FALSE)`,
        'boolean',
      ),
      kind: 'boolean',
    };
  return undefined;
}

/** The latest scoring at or before T, per table (and per score in person_scores). */
const predictionsRelation = {
  alias: 'pr',
  sql: (params: Params, asOf: Date) =>
    `SELECT * FROM predictions WHERE as_of = (SELECT max(as_of) FROM predictions WHERE as_of <= ${params.add(asOf)})`,
};

function scoreRelation(score: string) {
  return {
    alias: `sc_${score}`,
    sql: (params: Params, asOf: Date) => {
      const name = params.add(score);
      return `SELECT person_id, value, label FROM person_scores WHERE score = ${name}
        AND as_of = (SELECT max(as_of) FROM person_scores WHERE score = ${name} AND as_of <= ${params.add(asOf)})`;
    },
  };
}

/**
 * Model scores segments can use: BG/NBD and Gamma-Gamma (`segflow models score`, table predictions), propensity
 * (`segflow models score churn|purchase`) and cluster assignments (`segflow models fit clusters --assign`), each as
 * of the latest scoring at or before the evaluation time. A person without a score fails every comparison on it.
 */
export const PREDICTED_CATALOG: readonly (CatalogEntry & { relation: 'predictions' | 'scores' })[] = [
  {
    name: 'predicted.p_alive',
    column: 'p_alive',
    kind: 'number',
    relation: 'predictions',
    description: 'BG/NBD probability the customer is still active',
  },
  {
    name: 'predicted.expected_purchases',
    column: 'expected_purchases',
    kind: 'number',
    relation: 'predictions',
    description: 'BG/NBD expected purchases over the scoring horizon',
  },
  {
    name: 'predicted.expected_order_value',
    column: 'expected_order_value',
    kind: 'number',
    relation: 'predictions',
    description: 'Gamma-Gamma expected average order value',
  },
  {
    name: 'predicted.clv',
    column: 'clv',
    kind: 'number',
    relation: 'predictions',
    description: 'discounted lifetime value over the CLV horizon',
  },
  {
    name: 'predicted.churn_probability',
    column: 'churn_probability',
    kind: 'number',
    relation: 'scores',
    description: 'probability of no activity in the churn model’s horizon',
  },
  {
    name: 'predicted.purchase_probability',
    column: 'purchase_probability',
    kind: 'number',
    relation: 'scores',
    description: 'probability of a purchase in the purchase model’s horizon',
  },
  {
    name: 'cluster',
    column: 'cluster',
    kind: 'text',
    relation: 'scores',
    description: 'the label of the person’s cluster, e.g. "frequent, low spend, recent"',
  },
  {
    name: 'cluster.id',
    column: 'cluster',
    kind: 'number',
    relation: 'scores',
    description: 'the number of the person’s cluster (0 = the largest)',
  },
];

/** A column read from a relation joined on person_id (the segment compiler joins each alias once). */
interface ScoreColumn {
  sql: string;
  kind: CatalogEntry['kind'];
  relation: { alias: string; sql(params: Params, asOf: Date): string };
}

function predictedColumn(name: string): ScoreColumn | undefined {
  const entry = PREDICTED_CATALOG.find((e) => e.name === name);
  if (!entry) return undefined;
  if (entry.relation === 'predictions') {
    return { sql: `pr.${entry.column}`, kind: entry.kind, relation: predictionsRelation };
  }
  const relation = scoreRelation(entry.column);
  return {
    sql: `${relation.alias}.${entry.kind === 'text' ? 'label' : 'value'}`,
    kind: entry.kind,
    relation,
  };
}

/** Features for segment definitions: the latest refresh at or before the evaluation time. */
export function featureSource(d: Dialect) {
  return {
    relation: (params: Params, asOf: Date) =>
      `SELECT * FROM features WHERE as_of = (SELECT max(as_of) FROM features WHERE as_of <= ${params.add(asOf)})`,
    column: (name: string) => featureColumn(d, name) ?? predictedColumn(name),
    names: () => [
      ...FEATURE_CATALOG.map((e) => e.name),
      ...PREDICTED_CATALOG.map((e) => e.name),
      'adoption.power_user.<feature>',
      'adoption.depth.<feature>',
      'funnel.<name>.step',
      'funnel.<name>.abandoned',
    ],
  };
}

/**
 * One person's row of `features` (personFeatures, `GET /api/v1/persons/:id/features`): the person, the refresh time
 * and one column per feature (see docs/features.md), each a number, a text, a boolean or null.
 */
export const PersonFeaturesSchema = z
  .object({ person_id: z.string(), as_of: Timestamp })
  .catchall(z.union([z.number(), z.string(), z.boolean(), z.null()]))
  .meta({ id: 'Features', description: 'column → value; see docs/features.md' });
