import { durationMs } from '../config/duration.js';
import type { Dialect } from '../engine/dialect.js';
import { Params } from '../engine/params.js';
import { FEATURES } from '../engine/schema.js';
import type { SqlValue } from '../engine/warehouse.js';
import { type EventKinds, kindTest } from '../instrument/event-kinds.js';
import { scopedPersonEventsSql } from '../instrument/persons-on-events.js';
import type { ModelConfig } from './model-config.js';

/**
 * The behavioral features of every person as of T, in SQL: one pass over the person's events up to T computes the
 * aggregates every model needs (FILTER clauses, one GROUP BY), small side passes cover what needs another grain
 * (tickets by id, feature uses by feature, the n-th purchase, funnel chains), and window functions score RFM.
 * Formulas and units are documented in docs/features.md; the TypeScript reference in the tests follows that page.
 */
export const DAY_MS = 86_400_000;

export const FEATURE_COLUMNS = [
  'first_seen',
  'last_seen',
  'last_activity',
  'rfm_recency_days',
  'rfm_last_purchase',
  'rfm_frequency',
  'rfm_repeat_purchases',
  'rfm_monetary_total',
  'rfm_monetary_avg',
  'rfm_r',
  'rfm_f',
  'rfm_m',
  'rfm_rf_sum',
  'rfm_code',
  'rfm_group',
  'lifecycle_stage',
  'lifecycle_since',
  'engagement_score',
  'engagement_tier',
  'adoption_breadth',
  'adoption_uses',
  'adoption_depth',
  'adoption_key_activated',
  'adoption_usage_share',
  'adoption_nearing_limit',
  'adoption_tier',
  'adoption_power_features',
  'intent_score',
  'intent_tier',
  'support_tickets',
  'support_open_tickets',
  'support_last_csat',
  'support_last_nps',
  'support_detractor',
  'funnel_steps',
  'funnel_abandoned',
] as const;

function lit(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** `ev` is a track event named one of `names` ($page / $screen: page or screen calls), by its stored kind. */
function isEvent(kinds: EventKinds, names: readonly string[], alias = 'ev'): string {
  return kindTest(`${alias}.event_kind`, kinds.ofEvents(names));
}

/** The events whose JSON properties the side passes read (surveys, feature uses, usage reports, tickets). */
function propertyEventsTest(cfg: ModelConfig, kinds: EventKinds, alias: string): string {
  const a = cfg.adoption;
  const s = cfg.support;
  return isEvent(kinds, [s.survey.event, a.usage.event, s.created, s.resolved, a.event], alias);
}

/** The scratch tables an incremental refresh stages (`dirtyStagingSql`) and `featureSql` with `since` reads. */
const STAGED = {
  identities: '_sf_feat_identities',
  events: '_sf_feat_events',
  props: '_sf_feat_props',
} as const;

/** The scratch tables of `dirtyStagingSql`, to drop after the refresh. */
export const DIRTY_STAGED: readonly string[] = Object.values(STAGED);

/**
 * What an incremental refresh reads of the people in `features_dirty`, to be stored (in this order) before
 * `featureSql` with `since` runs: their identifiers (a person merged into one of them since the last refresh is no
 * longer carried), their events up to T picked by the person id stored on them (persons on events) without
 * properties, and their few events whose properties the side passes read (reading every event's properties cost most
 * of an incremental refresh). Stored, not CTEs: ClickHouse inlines a CTE at each reference, and the feature query
 * refers to these a dozen times (each pass, each funnel step), each a read of the events table.
 *
 * @example
 * for (const s of dirtyStagingSql(cfg, asOf, kinds)) await tx.storage.createScratch(s);
 */
export function dirtyStagingSql(
  cfg: ModelConfig,
  asOf: Date,
  kinds: EventKinds,
): { name: string; select: string; params: SqlValue[] }[] {
  const staged = (name: string, build: (p: Params) => string) => {
    const p = new Params();
    return { name, select: build(p), params: p.values };
  };
  return [
    staged(
      STAGED.identities,
      () =>
        'SELECT identifier, person_id FROM identities WHERE person_id IN (SELECT person_id FROM features_dirty)',
    ),
    staged(STAGED.events, (p) =>
      scopedPersonEventsSql(
        'features_dirty',
        ['ts', 'type', 'event', 'event_kind', 'revenue'],
        `e.ts <= ${p.add(asOf)}`,
      ),
    ),
    staged(STAGED.props, (p) =>
      scopedPersonEventsSql(
        'features_dirty',
        ['ts', 'type', 'event', 'event_kind', 'properties', 'message_id'],
        `e.ts <= ${p.add(asOf)} AND ${propertyEventsTest(cfg, kinds, 'e')}`,
      ),
    ),
  ];
}

/** The weight of the row's event, or NULL when it is not one of the weighted events ($page / $screen: page, screen). */
function weightOf(p: Params, kinds: EventKinds, weights: Record<string, number>): string {
  const whens = Object.keys(weights)
    .map((n) => ({ test: isEvent(kinds, [n]), weight: weights[n]! }))
    .filter((w) => w.test !== 'FALSE');
  if (whens.length === 0) return 'CAST(NULL AS DOUBLE)';
  return `CASE ${whens.map((w) => `WHEN ${w.test} THEN CAST(${p.add(w.weight)} AS DOUBLE)`).join(' ')} END`;
}

/** Weighted, exponentially decayed sum over rows with a weight: Σ w · 0.5^((T − t) / half-life). */
function decayedSum(d: Dialect, weight: string, halfLife: string, asOf: string): string {
  const age = `(${d.epochMs(asOf)} - ${d.epochMs('ts')}) / ${durationMs(halfLife)}.0`;
  // CASE, so the power is computed only for weighted events (a FILTER still evaluates its aggregate's input on every
  // row).
  return `coalesce(sum(CASE WHEN ${weight} IS NOT NULL THEN ${weight} * ${d.power('0.5', age)} END), 0.0)`;
}

/**
 * Quintile score among purchasers: score = floor(5 · (rank − 1) / n) + 1, where rank = 1 + the number of purchasers
 * strictly worse, so equal values share the score of the first of them. Ranked over the distinct values with their
 * counts (a running sum), which sorts far fewer and narrower rows than ranking every person.
 */
function quintileCte(name: string, value: string, order: 'ASC' | 'DESC'): string {
  return `${name} AS (
    SELECT v, CAST(floor(5.0 * (sum(n) OVER (ORDER BY v ${order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) / sum(n) OVER ()) AS INTEGER) AS s
    FROM (SELECT ${value} AS v, count(*) AS n FROM unscored WHERE rfm_frequency > 0 GROUP BY 1))`;
}

export function featureSql(
  d: Dialect,
  cfg: ModelConfig,
  p: Params,
  asOf: Date,
  options: {
    /** Just the main pass's per-person aggregates (the benchmark compares it with one scan). */
    mainPassOnly?: boolean;
    /** The relation events are read from (`eventsRelation`): `events` itself when no merge is pending. */
    events?: string;
    /** The stored event kinds (`loadEventKinds`, read in the same transaction as the events). */
    kinds: EventKinds;
    /**
     * Recompute from events only the people in table `features_dirty` (see `dirtyPersonsSql`) and carry everyone else's row
     * over from the refresh at `since`. Their events must first be staged (`dirtyStagingSql`).
     */
    since?: Date;
  },
): string {
  const kinds = options.kinds;
  const T = p.add(asOf);
  const since = options.mainPassOnly ? undefined : options.since;
  // Where the events come from: every person's, or only those of the people to recompute.
  const source = since ? 'dirty_events' : (options.events ?? 'person_events');
  const ago = (duration: string) => p.add(new Date(asOf.getTime() - durationMs(duration)));
  const purchase = isEvent(kinds, cfg.purchase.events);
  const activation = isEvent(kinds, cfg.lifecycle.activation);
  const a = cfg.adoption;
  const s = cfg.support;
  const text = (prop: string) => d.jsonText('ev.properties', p.add(`$."${prop.replaceAll('"', '\\"')}"`));
  const featureName = text(a.property);
  const keyList = a.keyFeatures.length ? a.keyFeatures.map((k) => p.add(k)).join(', ') : 'NULL';
  const surveyType = text(s.survey.typeProperty);
  const surveyScore = d.toDouble(text(s.survey.scoreProperty));
  const isTrack = (name: string) => isEvent(kinds, [name]);
  const grid = cfg.rfm.grid;
  const groupCase = `CASE ${[5, 4, 3, 2, 1]
    .flatMap((r, i) => [1, 2, 3, 4, 5].map((f) => `WHEN r = ${r} AND f = ${f} THEN ${lit(grid[i]![f - 1]!)}`))
    .join(' ')} END`;

  // The side passes read three small relations instead of the events, each with only the columns it needs: JSON
  // properties only for the few event types whose properties matter (surveys, feature uses, usage reports, tickets),
  // purchases with their message ids (the n-th purchase) and the funnel steps with just person and time. One relation
  // with properties for all of them read the properties of every funnel step, the commonest events of a shop: that
  // was most of a full refresh.
  const funnels = Object.entries(cfg.funnels);
  const propertyKinds = (alias: string) => propertyEventsTest(cfg, kinds, alias);
  // Funnel steps after the first are rare; the first step is the commonest event of a shop and is read straight from
  // the events, only for the people who reached step 2 (see furthestStepSql).
  const laterSteps = isEvent(
    kinds,
    funnels.flatMap(([, f]) => f.steps.slice(1)),
  );
  const sideEvents = [
    `prop_events AS ${d.materialized()} (${
      since
        ? `SELECT * FROM ${STAGED.props}`
        : `SELECT ev.person_id, ev.ts, ev.type, ev.event, ev.event_kind, ev.properties, ev.message_id FROM ${source} ev
    WHERE ev.ts <= ${T} AND ${propertyKinds('ev')}`
    })`,
    // No message id: the n-th purchase's time is the same whichever of two purchases at one instant counts first.
    `purchase_events AS ${d.materialized()} (
    SELECT ev.person_id, ev.ts, ev.type FROM ${source} ev WHERE ev.ts <= ${T} AND ${purchase})`,
    ...(funnels.length
      ? [
          `step_events AS ${d.materialized()} (
    SELECT ev.person_id, ev.ts, ev.type, ev.event, ev.event_kind FROM ${source} ev
    WHERE ev.ts <= ${T} AND ${laterSteps})`,
        ]
      : []),
  ].join(',\n  ');
  const side = (filter: string) => `(SELECT * FROM prop_events ev WHERE ${filter}) ev`;
  const step = (filter: string) => `(SELECT * FROM step_events ev WHERE ${filter}) ev`;
  const firstStep = (filter: string) =>
    `(SELECT ev.person_id, ev.ts FROM ${source} ev WHERE ev.ts <= ${T} AND ${filter}) ev`;
  const funnelCtes: string[] = [];
  const funnelJoins: string[] = [];
  const funnelFlags: string[] = [];
  const funnelStarts: string[] = [];
  const funnelSteps: [string, string][] = [];
  const funnelAbandoned: [string, string][] = [];
  funnels.forEach(([name, f], fi) => {
    const id = `fn${fi}`;
    // Step 1 needs no chain: any step-1 event reaches it, and the last one is the latest start.
    funnelFlags.push(`${isTrack(f.steps[0]!)} AS is_${id}_start`);
    funnelStarts.push(`${d.aggregateIf('max(ts)', `is_${id}_start`)} AS ${id}_start`);
    funnelCtes.push(furthestStepSql(d, kinds, id, f.steps, f.within, { first: firstStep, later: step }));
    funnelJoins.push(`LEFT JOIN ${id} ON ${id}.person_id = b.person_id`);
    const reached = `coalesce(${id}.reached, CASE WHEN b.${id}_start IS NOT NULL THEN 1 ELSE 0 END)`;
    funnelSteps.push([name, reached]);
    funnelAbandoned.push([
      name,
      d.asColumnType(
        `coalesce(${reached} BETWEEN 1 AND ${f.steps.length - 1} AND ${d.plusMs(`b.${id}_start`, durationMs(f.within))} <= ${T}, FALSE)`,
        'boolean',
      ),
    ]);
  });

  // The main pass: one scan of every event up to T, one identity join, one GROUP BY of the per-person aggregates.
  const mainPass = `flags AS (
    SELECT ev.person_id, ev.ts, ev.revenue, ${kindTest('ev.event_kind', kinds.ofTypes(['track', 'page', 'screen']))} AS active,
      ${purchase} AS is_purchase, ${activation} AS is_activation, ${isTrack(s.created)} AS is_ticket,
      ${weightOf(p, kinds, cfg.engagement.weights)} AS w_eng, ${weightOf(p, kinds, cfg.intent.weights)} AS w_int${funnelFlags.map((f) => `,\n      ${f}`).join('')}
    FROM ${source} ev WHERE ev.ts <= ${T}),
  base AS (
    SELECT person_id,
      min(ts) AS first_seen, max(ts) AS last_seen,
      ${d.aggregateIf('max(ts)', 'active')} AS last_activity,
      ${d.aggregateIf('max(ts)', 'is_purchase')} AS last_purchase,
      ${d.aggregateIf('count(*)', 'is_purchase')} AS purchases,
      coalesce(${d.aggregateIf('sum(revenue)', 'is_purchase')}, 0.0) AS revenue_total,
      ${d.aggregateIf('min(ts)', 'is_activation')} AS activated_at,
      ${decayedSum(d, 'w_eng', cfg.engagement.halfLife, T)} AS engagement_score,
      ${d.aggregateIf('count(*)', `w_eng IS NOT NULL AND ts > ${ago(cfg.lifecycle.engagedWithin)}`)} AS engaged_events,
      ${d.aggregateIf('min(ts)', `w_eng IS NOT NULL AND ts > ${ago(cfg.lifecycle.engagedWithin)}`)} AS engaged_since,
      ${decayedSum(d, 'w_int', cfg.intent.halfLife, T)} AS intent_score,
      ${d.aggregateIf('count(*)', `is_ticket AND ts > ${ago(s.window)}`)} AS tickets${funnelStarts.map((f) => `,\n      ${f}`).join('')}
    FROM flags GROUP BY person_id)`;
  // base's columns, named one by one where it is joined: after two joins ClickHouse names `b.*`'s columns `b.x`.
  const baseColumns = [
    ...[
      'person_id',
      'first_seen',
      'last_seen',
      'last_activity',
      'last_purchase',
      'purchases',
      'revenue_total',
    ],
    ...['activated_at', 'engagement_score', 'engaged_events', 'engaged_since', 'intent_score', 'tickets'],
    ...funnels.map((_, fi) => `fn${fi}_start`),
  ];
  if (options.mainPassOnly) return `WITH ${mainPass} SELECT * FROM base`;
  const tier = {
    engagement: (
      score: string,
    ) => `CASE WHEN ${score} >= ${p.add(cfg.engagement.tiers.high)} THEN 'highly engaged'
         WHEN ${score} >= ${p.add(cfg.engagement.tiers.moderate)} THEN 'moderately engaged' ELSE 'inactive' END`,
    intent: (score: string) => `CASE WHEN ${score} >= ${p.add(cfg.intent.tiers.high)} THEN 'high'
         WHEN ${score} >= ${p.add(cfg.intent.tiers.medium)} THEN 'medium' ELSE 'low' END`,
  };
  // The staged relations of the people to recompute (`dirtyStagingSql`).
  const prelude = since
    ? `dirty_identities AS (SELECT identifier, person_id FROM ${STAGED.identities}),
  dirty_events AS (SELECT * FROM ${STAGED.events}),
  `
    : '';
  return `WITH ${prelude}${sideEvents},
  ${funnelCtes.map((c) => `${c},`).join('\n  ')}
  ${mainPass},
  surveys AS (
    SELECT person_id,
      ${d.latestValue(surveyScore, 'ts', 'message_id', `${surveyType} = ${p.add(s.survey.csat)}`)} AS last_csat,
      ${d.latestValue(surveyScore, 'ts', 'message_id', `${surveyType} = ${p.add(s.survey.nps)}`)} AS last_nps
    FROM ${side(isTrack(s.survey.event))} GROUP BY person_id),
  usage AS (
    SELECT person_id,
      ${d.latestValue(d.toDouble(text(a.usage.usageProperty)), 'ts', 'message_id', 'TRUE')} AS usage_now,
      ${d.latestValue(d.toDouble(text(a.usage.limitProperty)), 'ts', 'message_id', 'TRUE')} AS usage_limit
    FROM ${side(isTrack(a.usage.event))} GROUP BY person_id),
  loyal AS (
    SELECT person_id, ts AS loyal_since FROM (
      SELECT person_id, ts, row_number() OVER (PARTITION BY person_id ORDER BY ts) AS k
      FROM purchase_events WHERE type = 'track')
    WHERE k = ${p.add(cfg.lifecycle.loyalPurchases)}),
  purchase_days AS (
    SELECT person_id, count(DISTINCT ${d.dayOf('ts')}) AS purchase_days FROM purchase_events GROUP BY person_id),
  ticket_state AS (
    SELECT person_id, ${d.aggregateIf('count(*)', 'created AND NOT resolved')} AS open_tickets FROM (
      SELECT person_id, ${text(s.ticketProperty)} AS ticket,
             ${d.boolOr(isTrack(s.created))} AS created, ${d.boolOr(isTrack(s.resolved))} AS resolved
      FROM ${side(`${isTrack(s.created)} OR ${isTrack(s.resolved)}`)} GROUP BY 1, 2)
    WHERE ticket IS NOT NULL GROUP BY person_id),
  uses AS (
    SELECT person_id, ${featureName} AS feature, ${d.aggregateIf('count(*)', `ts > ${ago(a.window)}`)} AS n, count(*) AS n_ever
    FROM ${side(isTrack(a.event))} GROUP BY 1, 2),
  adoption AS (
    SELECT person_id, count(*) AS breadth, sum(n) AS uses, ${d.jsonObjectAgg('feature', 'n')} AS depth,
           ${d.jsonArrayAgg('feature', `n >= ${p.add(a.powerUses)}`)} AS power
    FROM uses WHERE feature IS NOT NULL AND n > 0 GROUP BY person_id),
  key_use AS (
    SELECT person_id, sum(n_ever) AS key_uses FROM uses WHERE feature IN (${keyList}) GROUP BY person_id),
  joined AS (
    SELECT ${baseColumns.map((c) => `b.${c} AS ${c}`).join(', ')},
      coalesce(pd.purchase_days, 0) AS purchase_days, l.loyal_since AS loyal_since, coalesce(t.open_tickets, 0) AS open_tickets,
      sv.last_csat AS last_csat, sv.last_nps AS last_nps, us.usage_now AS usage_now, us.usage_limit AS usage_limit,
      coalesce(ku.key_uses, 0) AS key_uses,
      coalesce(ad.breadth, 0) AS breadth, coalesce(ad.uses, 0) AS uses, coalesce(ad.depth, '{}') AS depth,
      coalesce(ad.power, '[]') AS power,
      ${funnelSteps.length ? d.jsonObject(funnelSteps.map(([n, e]) => [n, e])) : `'{}'`} AS funnel_steps,
      ${funnelAbandoned.length ? d.jsonObject(funnelAbandoned.map(([n, e]) => [n, e])) : `'{}'`} AS funnel_abandoned,
      CASE WHEN b.purchases > 0 THEN (${d.epochMs(T)} - ${d.epochMs('b.last_purchase')}) / ${DAY_MS}.0 END AS recency_days
    FROM base b LEFT JOIN purchase_days pd ON pd.person_id = b.person_id LEFT JOIN loyal l ON l.person_id = b.person_id LEFT JOIN ticket_state t ON t.person_id = b.person_id
    LEFT JOIN adoption ad ON ad.person_id = b.person_id LEFT JOIN surveys sv ON sv.person_id = b.person_id
    LEFT JOIN usage us ON us.person_id = b.person_id LEFT JOIN key_use ku ON ku.person_id = b.person_id ${funnelJoins.join(' ')}),
  ${since ? 'fresh' : 'unscored'} AS (
  SELECT ${d.toTimestamp(T)} AS as_of, person_id, first_seen, last_seen, last_activity,
    recency_days AS rfm_recency_days,
    last_purchase AS rfm_last_purchase,
    purchases AS rfm_frequency,
    CASE WHEN purchases > 0 THEN purchase_days - 1 ELSE 0 END AS rfm_repeat_purchases,
    revenue_total AS rfm_monetary_total,
    CASE WHEN purchases > 0 THEN revenue_total / purchases END AS rfm_monetary_avg,
    CASE
      WHEN last_activity IS NOT NULL AND last_activity <= ${ago(cfg.lifecycle.churnedAfter)} THEN 'churned'
      WHEN last_activity IS NULL OR last_activity <= ${ago(cfg.lifecycle.atRiskAfter)} THEN
        CASE WHEN last_activity IS NULL THEN 'new lead' ELSE 'at risk' END
      WHEN loyal_since IS NOT NULL THEN 'loyal advocate'
      WHEN engaged_events >= ${p.add(cfg.lifecycle.engagedEvents)} THEN 'engaged'
      WHEN activated_at IS NOT NULL THEN 'activated'
      ELSE 'new lead' END AS lifecycle_stage,
    CASE
      WHEN last_activity IS NOT NULL AND last_activity <= ${ago(cfg.lifecycle.churnedAfter)}
        THEN ${d.plusMs('last_activity', durationMs(cfg.lifecycle.churnedAfter))}
      WHEN last_activity IS NULL THEN first_seen
      WHEN last_activity <= ${ago(cfg.lifecycle.atRiskAfter)} THEN ${d.plusMs('last_activity', durationMs(cfg.lifecycle.atRiskAfter))}
      WHEN loyal_since IS NOT NULL THEN loyal_since
      WHEN engaged_events >= ${p.add(cfg.lifecycle.engagedEvents)} THEN engaged_since
      WHEN activated_at IS NOT NULL THEN activated_at
      ELSE first_seen END AS lifecycle_since,
    engagement_score,
    ${tier.engagement('engagement_score')} AS engagement_tier,
    breadth AS adoption_breadth, uses AS adoption_uses, depth AS adoption_depth,
    key_uses > 0 AS adoption_key_activated,
    CASE WHEN usage_limit > 0 THEN usage_now / usage_limit END AS adoption_usage_share,
    coalesce(usage_limit > 0 AND usage_now / usage_limit >= ${p.add(a.usage.nearing)}, FALSE) AS adoption_nearing_limit,
    CASE WHEN uses >= ${p.add(a.tiers.power)} THEN 'power' WHEN uses >= ${p.add(a.tiers.regular)} THEN 'regular'
         WHEN uses >= ${p.add(a.tiers.light)} THEN 'light' ELSE 'dormant' END AS adoption_tier,
    power AS adoption_power_features,
    intent_score,
    ${tier.intent('intent_score')} AS intent_tier,
    tickets AS support_tickets, open_tickets AS support_open_tickets,
    last_csat AS support_last_csat, last_nps AS support_last_nps,
    coalesce(last_nps <= 6, FALSE) AS support_detractor,
    funnel_steps, funnel_abandoned
  FROM joined),
  ${since ? `${carriedSql(d, cfg, T, p.add(since), tier)},\n  ` : ''}${quintileCte('q_r', 'rfm_recency_days', 'DESC')},
  ${quintileCte('q_f', 'rfm_frequency', 'ASC')},
  ${quintileCte('q_m', 'round(rfm_monetary_total, 2)', 'ASC')},
  scored AS (
    SELECT ${UNSCORED_COLUMNS.map((c) => `u.${c} AS ${c}`).join(', ')},
      CASE WHEN u.rfm_frequency > 0 THEN coalesce(qr.s, 0) + 1 END AS r,
      CASE WHEN u.rfm_frequency > 0 THEN coalesce(qf.s, 0) + 1 END AS f,
      CASE WHEN u.rfm_frequency > 0 THEN coalesce(qm.s, 0) + 1 END AS m
    FROM unscored u
    LEFT JOIN q_r qr ON qr.v = u.rfm_recency_days
    LEFT JOIN q_f qf ON qf.v = u.rfm_frequency
    LEFT JOIN q_m qm ON qm.v = round(u.rfm_monetary_total, 2))
  SELECT ${UNSCORED_COLUMNS.join(', ')}, r AS rfm_r, f AS rfm_f, m AS rfm_m, r + f AS rfm_rf_sum,
    CASE WHEN rfm_frequency > 0 THEN CAST(r AS VARCHAR) || CAST(f AS VARCHAR) || CAST(m AS VARCHAR) END AS rfm_code,
    ${groupCase} AS rfm_group
  FROM scored`;
}

/** The columns a feature row has before RFM scoring, which ranks everyone at once. */
const UNSCORED_COLUMNS = [
  'as_of',
  'person_id',
  ...FEATURE_COLUMNS.filter(
    (c) => !['rfm_r', 'rfm_f', 'rfm_m', 'rfm_rf_sum', 'rfm_code', 'rfm_group'].includes(c),
  ),
];

/**
 * `unscored`: the fresh rows of the people recomputed, and everyone else's row carried over from the refresh at
 * `since`. A person merged into another since is not carried: the message that merged them was stored since, so the
 * person they joined is recomputed, and their own id (a person id is one of the person's identifiers) is now one of
 * that person's identifiers. Between two refreshes, a person without new events and
 * without an event crossing a window edge keeps every feature except those that move with time alone: recency
 * (counted from the last purchase) and the decayed scores (scaled by 0.5^(elapsed / half-life)) with their tiers.
 */
function carriedSql(
  d: Dialect,
  cfg: ModelConfig,
  T: string,
  since: string,
  tier: { engagement: (score: string) => string; intent: (score: string) => string },
): string {
  const elapsed = `(${d.epochMs(T)} - ${d.epochMs(since)})`;
  const decay = (halfLife: string) => d.power('0.5', `${elapsed} / ${durationMs(halfLife)}.0`);
  const moved: Record<string, string> = {
    as_of: d.toTimestamp(T),
    rfm_recency_days: `CASE WHEN f.rfm_frequency > 0 THEN (${d.epochMs(T)} - ${d.epochMs('f.rfm_last_purchase')}) / ${DAY_MS}.0 END`,
    engagement_score: `f.engagement_score * ${decay(cfg.engagement.halfLife)}`,
    intent_score: `f.intent_score * ${decay(cfg.intent.halfLife)}`,
  };
  // Both halves in the stored types: ClickHouse has no common type of a fresh count (UInt64) and a stored Int64.
  const types = new Map(FEATURES.columns.map((c) => [c.name, c.type]));
  const columns = UNSCORED_COLUMNS.map((c) => `${d.asColumnType(c, types.get(c)!)} AS ${c}`).join(', ');
  return `carried_moved AS (
    SELECT ${UNSCORED_COLUMNS.map((c) => (moved[c] ? `${moved[c]} AS ${c}` : `f.${c}`)).join(', ')}
    FROM features f
    WHERE f.as_of = ${since}
      AND f.person_id NOT IN (SELECT person_id FROM features_dirty UNION ALL SELECT identifier FROM dirty_identities)),
  carried AS (
    SELECT ${UNSCORED_COLUMNS.map((c) =>
      c === 'engagement_tier'
        ? `${tier.engagement('engagement_score')} AS engagement_tier`
        : c === 'intent_tier'
          ? `${tier.intent('intent_score')} AS intent_tier`
          : c,
    ).join(', ')}
    FROM carried_moved),
  unscored AS (SELECT ${columns} FROM fresh UNION ALL SELECT ${columns} FROM carried)`;
}

/**
 * The models' window lengths (ms, 0 included: an event time becoming past): a person's features change with no new
 * event when one of their events crosses T − w. Streaming queues these edges as it queues the segments' own.
 *
 * @example
 * featureWindowsMs(modelConfig()); // [0, 1209600000, …]
 */
export function featureWindowsMs(cfg: ModelConfig): number[] {
  return [
    ...new Set([
      0,
      durationMs(cfg.lifecycle.engagedWithin),
      durationMs(cfg.lifecycle.atRiskAfter),
      durationMs(cfg.lifecycle.churnedAfter),
      durationMs(cfg.support.window),
      durationMs(cfg.adoption.window),
      ...Object.values(cfg.funnels).map((f) => durationMs(f.within)),
    ]),
  ];
}

/**
 * The people whose features can have changed between the refresh at `since` (which saw ingest batches up to
 * `batch`) and one at `asOf`: everyone with an event stored since, with an event time in (since, asOf], or with an
 * event that crossed the edge of one of the models' windows (an event time in (since − w, asOf − w]). Nothing else
 * changes a feature row except time itself, which `carriedSql` accounts for.
 */
export function dirtyPersonsSql(
  cfg: ModelConfig,
  p: Params,
  range: { since: Date; asOf: Date; batch: number },
  /** The relation events are read from (`eventsRelation`): `events` itself when no merge is pending. */
  events = 'person_events',
): string {
  const crossed = featureWindowsMs(cfg).map(
    (w) =>
      `(ev.ts > ${p.add(new Date(range.since.getTime() - w))} AND ev.ts <= ${p.add(new Date(range.asOf.getTime() - w))})`,
  );
  return `SELECT DISTINCT ev.person_id FROM ${events} ev
    WHERE ev.ingest_batch > ${p.add(range.batch)} OR ${crossed.join(' OR ')}`;
}

/**
 * Funnel chains with their step times (the funnel report): from every event of step 1, each next step is the first
 * matching event strictly after the previous one, within `within` of the chain's start; `reached` is how many steps
 * the chain got through.
 */
export function funnelChainSql(
  d: Dialect,
  p: Params,
  id: string,
  steps: readonly string[],
  within: string,
): string {
  const w = durationMs(within);
  const stepRel = (i: number) =>
    `(SELECT person_id, ts FROM ev WHERE ev.type = 'track' AND ev.event = ${p.add(steps[i]!)})`;
  const ctes = [`${id}_c0 AS (SELECT person_id, ts AS t0, ts AS t FROM ${stepRel(0)} s)`];
  const carried: string[] = [];
  for (let i = 1; i < steps.length; i++) {
    carried.push(`t${i - 1}`);
    const prevCols =
      i === 1
        ? 'c.t0'
        : `c.t0, ${carried
            .slice(1)
            .map((t) => `c.${t}`)
            .join(', ')}`;
    const join = d.nextRowJoin({
      left: `${id}_c${i - 1} c`,
      right: `${stepRel(i)} nx`,
      on: 'nx.person_id = c.person_id',
      leftTime: 'c.t',
      rightTime: 'nx.ts',
      outer: true,
    });
    const t = `CASE WHEN c.t IS NOT NULL AND nx.ts <= ${d.plusMs('c.t0', w)} THEN nx.ts END`;
    ctes.push(`${id}_c${i} AS (SELECT c.person_id, ${prevCols}, ${t} AS t${i}, ${t} AS t FROM ${join})`);
  }
  const last = steps.length - 1;
  const reached = `CASE ${Array.from({ length: last }, (_, k) => last - k)
    .map((k) => `WHEN t${k} IS NOT NULL THEN ${k + 1}`)
    .join(' ')} ELSE 1 END`;
  const kept = Array.from({ length: last + 1 }, (_, i) => `t${i}`).join(', ');
  ctes.push(`${id}_chain AS (SELECT person_id, ${kept}, ${reached} AS reached FROM ${id}_c${last})`);
  return ctes.join(',\n  ');
}

/**
 * Accounts (B2B): the person-level facts rolled up over each account's members (group calls): members, users active
 * in the adoption window, their roles (the `role` trait), the distinct features any member used in the window, and
 * purchases, revenue and last activity of the account's people.
 */
export function accountFeatureSql(
  d: Dialect,
  cfg: ModelConfig,
  p: Params,
  asOf: Date,
  kinds: EventKinds,
): string {
  // Columns from joins are named (`x AS x`): ClickHouse names them by their qualified text (`ap.group_id`).
  const T = p.add(asOf);
  const windowStart = p.add(new Date(asOf.getTime() - durationMs(cfg.adoption.window)));
  const a = cfg.adoption;
  const purchase = isEvent(kinds, cfg.purchase.events);
  const feature = d.jsonText('ev.properties', p.add(`$."${a.property.replaceAll('"', '\\"')}"`));
  return `WITH ev AS (
      SELECT ap.group_id AS group_id, e.person_id AS person_id, e.ts AS ts, e.type AS type, e.event AS event,
        e.event_kind AS event_kind, e.revenue AS revenue, e.properties AS properties
      FROM person_events e JOIN account_persons ap ON ap.person_id = e.person_id WHERE e.ts <= ${T}),
    role AS (
      SELECT i.person_id AS person_id, ${d.argMax(d.jsonText('t.value', "'$'"), '(t.ts, t.message_id)')} AS role
      FROM identity_traits t JOIN identities i ON i.identifier = t.identifier
      WHERE t.key = 'role' AND i.person_id IN (SELECT person_id FROM account_persons) GROUP BY i.person_id),
    members AS (
      SELECT ap.group_id AS group_id, count(*) AS members, ${d.jsonArrayAgg('r.role', 'TRUE', { distinct: true })} AS roles
      FROM account_persons ap LEFT JOIN role r ON r.person_id = ap.person_id GROUP BY ap.group_id)
    SELECT ${d.toTimestamp(T)} AS as_of, m.group_id AS group_id, m.members AS members,
      ${d.aggregateIf('count(DISTINCT ev.person_id)', `ev.type IN ('track', 'page', 'screen') AND ev.ts > ${windowStart}`)} AS active_users,
      m.roles AS roles,
      ${d.aggregateIf(`count(DISTINCT ${feature})`, `ev.type = 'track' AND ev.event = ${p.add(a.event)} AND ev.ts > ${windowStart}`)} AS feature_breadth,
      coalesce(${d.jsonArrayAgg(feature, `ev.type = 'track' AND ev.event = ${p.add(a.event)} AND ev.ts > ${windowStart}`, { distinct: true })}, '[]') AS features_used,
      ${d.aggregateIf('count(*)', purchase)} AS purchases,
      coalesce(${d.aggregateIf('sum(ev.revenue)', purchase)}, 0.0) AS revenue,
      ${d.aggregateIf('max(ev.ts)', "ev.type IN ('track', 'page', 'screen')")} AS last_activity
    FROM members m LEFT JOIN ev ON ev.group_id = m.group_id
    GROUP BY m.group_id, m.members, m.roles`;
}

/**
 * `${id}` (person_id, reached): the furthest step of a funnel for people who reached step 2 or beyond (everyone else
 * reached step 1 if they have a step-1 event, which the main pass sees).
 *
 * A person reaches step k when some step-1 event starts an increasing run of steps 2..k ending within `within` of
 * it; taking the first matching event after each step (the chain definition) finds such a run whenever one exists.
 * The chains are built backwards from step 2, which is rare, instead of forwards from step 1, which is the most
 * common event of a shop: each step-2 event starts from the latest step-1 event before it, the start that leaves the
 * most of the window. Only the step-1 events of people with a step-2 event are sorted for that join. After every
 * step, chains that reach the same event share their future, so per (person, event) only the latest start is kept:
 * the number of chains stays at most the number of next-step events.
 */
function furthestStepSql(
  d: Dialect,
  kinds: EventKinds,
  id: string,
  steps: readonly string[],
  within: string,
  ev: {
    /** Events of the first step (read from the events themselves, filtered further by the caller's join). */
    first: (filter: string) => string;
    /** Events of the later steps. */
    later: (filter: string) => string;
  },
): string {
  const w = durationMs(within);
  const stepRel = (i: number) =>
    `(SELECT person_id, ts FROM ${(i === 0 ? ev.first : ev.later)(isEvent(kinds, [steps[i]!]))})`;
  const ctes = [
    `${id}_s1 AS (SELECT person_id, ts FROM ${stepRel(1)})`,
    `${id}_s0 AS (SELECT person_id, ts FROM ${stepRel(0)} WHERE person_id IN (SELECT person_id FROM ${id}_s1))`,
    `${id}_c1 AS (SELECT nx.person_id, max(c.ts) AS t0, nx.ts AS t, 2 AS reached FROM ${d.previousRowJoin({
      left: `${id}_s1 nx`,
      right: `${id}_s0 c`,
      on: 'c.person_id = nx.person_id',
      leftTime: 'nx.ts',
      rightTime: 'c.ts',
    })} WHERE nx.ts <= ${d.plusMs('c.ts', w)} GROUP BY nx.person_id, nx.ts)`,
  ];
  for (let i = 2; i < steps.length; i++) {
    const join = d.nextRowJoin({
      left: `${id}_c${i - 1} c`,
      right: `${stepRel(i)} nx`,
      on: 'nx.person_id = c.person_id',
      leftTime: 'c.t',
      rightTime: 'nx.ts',
      outer: true,
    });
    const valid = `c.t IS NOT NULL AND nx.ts <= ${d.plusMs('c.t0', w)}`;
    ctes.push(
      `${id}_c${i} AS (SELECT person_id, max(t0) AS t0, t, max(reached) AS reached FROM (
        SELECT c.person_id, c.t0, CASE WHEN ${valid} THEN nx.ts END AS t,
               CASE WHEN ${valid} THEN ${i + 1} ELSE c.reached END AS reached
        FROM ${join}) GROUP BY person_id, t)`,
    );
  }
  ctes.push(
    `${id} AS (SELECT person_id, max(reached) AS reached FROM ${id}_c${steps.length - 1} GROUP BY person_id)`,
  );
  return ctes.join(',\n  ');
}
