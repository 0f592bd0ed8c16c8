import type { Dialect, TableDef } from './dialect.js';

/**
 * The storage schema as an ordered list of migrations. A database records the highest version applied; opening an
 * older file applies the rest, opening a newer one is refused (see migrate.ts). Never edit a released migration:
 * add the next one.
 */
export interface Migration {
  version: number;
  description: string;
  statements: (d: Dialect) => string[];
}

export const EVENTS: TableDef = {
  name: 'events',
  columns: [
    { name: 'message_id', type: 'text', notNull: true },
    { name: 'type', type: 'text', notNull: true },
    { name: 'event', type: 'text' }, // track: the event name
    { name: 'name', type: 'text' }, // page / screen: the page or screen name
    { name: 'user_id', type: 'text' },
    { name: 'anonymous_id', type: 'text' },
    { name: 'group_id', type: 'text' },
    { name: 'previous_id', type: 'text' },
    { name: 'ts', type: 'timestamp', notNull: true }, // event time (UTC) after clock-skew correction
    { name: 'original_timestamp', type: 'timestamp' },
    { name: 'sent_at', type: 'timestamp' },
    { name: 'received_at', type: 'timestamp', notNull: true },
    { name: 'properties', type: 'json' },
    { name: 'traits', type: 'json' },
    { name: 'context', type: 'json' },
    { name: 'integrations', type: 'json' },
    { name: 'revenue', type: 'double' },
    { name: 'source', type: 'text', notNull: true }, // 'import' | 'collector' | …
    // The ingest that stored the row: lets each step find a batch's new rows, and an import be traced or undone.
    { name: 'ingest_batch', type: 'bigint', notNull: true },
  ],
};

/** Every identifier (userId, anonymousId, previousId) → the canonical person it belongs to. */
export const IDENTITIES: TableDef = {
  name: 'identities',
  columns: [
    { name: 'identifier', type: 'text', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'is_user', type: 'boolean', notNull: true }, // ever seen as a userId: preferred as canonical id
  ],
  primaryKey: ['identifier'],
  keyIndexed: false,
};

/** Why two identifiers are one person: the first message that linked them. Kept for audit and privacy work. */
export const IDENTITY_EDGES: TableDef = {
  name: 'identity_edges',
  columns: [
    { name: 'a', type: 'text', notNull: true },
    { name: 'b', type: 'text', notNull: true },
    { name: 'via', type: 'text', notNull: true }, // message type that linked them: identify | alias | track | …
    { name: 'message_id', type: 'text', notNull: true },
    { name: 'ts', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['a', 'b'],
};

/**
 * Profile facts are kept per identifier, not per person, so an identity merge never rewrites them: the persons
 * view resolves identifiers to people at read time and takes the latest value by event time.
 */
export const IDENTITY_ACTIVITY: TableDef = {
  name: 'identity_activity',
  columns: [
    { name: 'identifier', type: 'text', notNull: true },
    { name: 'first_seen', type: 'timestamp', notNull: true },
    { name: 'last_seen', type: 'timestamp', notNull: true },
    { name: 'events', type: 'bigint', notNull: true },
  ],
  primaryKey: ['identifier'],
  keyIndexed: false,
};

export const IDENTITY_TRAITS: TableDef = {
  name: 'identity_traits',
  columns: [
    { name: 'identifier', type: 'text', notNull: true },
    { name: 'key', type: 'text', notNull: true },
    { name: 'value', type: 'json' },
    { name: 'ts', type: 'timestamp', notNull: true },
    { name: 'message_id', type: 'text', notNull: true }, // breaks ties between values set at the same instant
  ],
  primaryKey: ['identifier', 'key'],
  keyIndexed: false,
};

export const IDENTITY_CONSENT: TableDef = {
  name: 'identity_consent',
  columns: [
    { name: 'identifier', type: 'text', notNull: true },
    { name: 'purpose', type: 'text', notNull: true },
    { name: 'granted', type: 'boolean', notNull: true },
    { name: 'ts', type: 'timestamp', notNull: true },
    { name: 'message_id', type: 'text', notNull: true },
  ],
  primaryKey: ['identifier', 'purpose'],
  keyIndexed: false,
};

export const ACCOUNT_TRAITS: TableDef = {
  name: 'account_traits',
  columns: [
    { name: 'group_id', type: 'text', notNull: true },
    { name: 'key', type: 'text', notNull: true },
    { name: 'value', type: 'json' },
    { name: 'ts', type: 'timestamp', notNull: true },
    { name: 'message_id', type: 'text', notNull: true },
  ],
  primaryKey: ['group_id', 'key'],
};

export const ACCOUNT_MEMBERS: TableDef = {
  name: 'account_members',
  columns: [
    { name: 'group_id', type: 'text', notNull: true },
    { name: 'identifier', type: 'text', notNull: true },
    { name: 'first_seen', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['group_id', 'identifier'],
};

export const REJECTED_EVENTS: TableDef = {
  name: 'rejected_events',
  columns: [
    { name: 'rejected_at', type: 'timestamp', notNull: true },
    { name: 'source', type: 'text', notNull: true }, // 'import:<file>' | 'collector'
    { name: 'row_no', type: 'bigint' }, // line or row number in the source, 1-based
    { name: 'message_id', type: 'text' },
    { name: 'problems', type: 'json', notNull: true }, // ["$.path: what is wrong and how to fix it", …]
    { name: 'raw', type: 'text' },
  ],
};

export const IMPORT_RUNS: TableDef = {
  name: 'import_runs',
  columns: [
    { name: 'started_at', type: 'timestamp', notNull: true },
    { name: 'finished_at', type: 'timestamp', notNull: true },
    { name: 'file', type: 'text', notNull: true },
    { name: 'format', type: 'text', notNull: true },
    { name: 'preset', type: 'text' },
    { name: 'rows_read', type: 'bigint', notNull: true },
    { name: 'inserted', type: 'bigint', notNull: true },
    { name: 'duplicates', type: 'bigint', notNull: true },
    { name: 'rejected', type: 'bigint', notNull: true },
  ],
};

/**
 * API keys (Govern): only a SHA-256 digest of each key is kept, never the key itself; `prefix` is the first
 * characters of the key, enough for a person to tell keys apart in a list. A revoked key keeps its row.
 */
export const API_KEYS: TableDef = {
  name: 'api_keys',
  columns: [
    { name: 'id', type: 'text', notNull: true },
    { name: 'role', type: 'text', notNull: true }, // write | read | admin
    { name: 'name', type: 'text' },
    { name: 'prefix', type: 'text', notNull: true },
    { name: 'key_hash', type: 'text', notNull: true }, // sha256 hex of the whole key
    { name: 'created_at', type: 'timestamp', notNull: true },
    { name: 'revoked_at', type: 'timestamp' },
  ],
  primaryKey: ['id'],
};

/** Behavioral features (Model): one row per person per as-of time; docs/features.md documents every column. */
export const FEATURES: TableDef = {
  name: 'features',
  columns: [
    { name: 'as_of', type: 'timestamp', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'first_seen', type: 'timestamp' },
    { name: 'last_seen', type: 'timestamp' },
    { name: 'last_activity', type: 'timestamp' },
    { name: 'rfm_recency_days', type: 'double' },
    { name: 'rfm_last_purchase', type: 'timestamp' }, // (schema v12) what recency is counted from
    { name: 'rfm_frequency', type: 'bigint' },
    { name: 'rfm_repeat_purchases', type: 'bigint' },
    { name: 'rfm_monetary_total', type: 'double' },
    { name: 'rfm_monetary_avg', type: 'double' },
    { name: 'rfm_r', type: 'integer' },
    { name: 'rfm_f', type: 'integer' },
    { name: 'rfm_m', type: 'integer' },
    { name: 'rfm_rf_sum', type: 'integer' },
    { name: 'rfm_code', type: 'text' },
    { name: 'rfm_group', type: 'text' },
    { name: 'lifecycle_stage', type: 'text' },
    { name: 'lifecycle_since', type: 'timestamp' },
    { name: 'engagement_score', type: 'double' },
    { name: 'engagement_tier', type: 'text' },
    { name: 'adoption_breadth', type: 'bigint' },
    { name: 'adoption_uses', type: 'bigint' },
    { name: 'adoption_depth', type: 'json' },
    { name: 'adoption_key_activated', type: 'boolean' },
    { name: 'adoption_usage_share', type: 'double' },
    { name: 'adoption_nearing_limit', type: 'boolean' },
    { name: 'adoption_tier', type: 'text' },
    { name: 'adoption_power_features', type: 'json' },
    { name: 'intent_score', type: 'double' },
    { name: 'intent_tier', type: 'text' },
    { name: 'support_tickets', type: 'bigint' },
    { name: 'support_open_tickets', type: 'bigint' },
    { name: 'support_last_csat', type: 'double' },
    { name: 'support_last_nps', type: 'double' },
    { name: 'support_detractor', type: 'boolean' },
    { name: 'funnel_steps', type: 'json' },
    { name: 'funnel_abandoned', type: 'json' },
  ],
};

/**
 * One row per feature refresh (as-of time): what it saw, so the next refresh can recompute only the people whose
 * features can have changed since (`model/refresh-features.ts`).
 */
export const FEATURE_REFRESHES: TableDef = {
  name: 'feature_refreshes',
  columns: [
    { name: 'as_of', type: 'timestamp', notNull: true },
    { name: 'ingest_batch', type: 'bigint', notNull: true }, // the last ingest batch it saw
    { name: 'events', type: 'bigint', notNull: true }, // rows in events then: fewer now + new means some were deleted
    { name: 'config_hash', type: 'text', notNull: true }, // the model configuration and feature SQL version
    { name: 'mode', type: 'text', notNull: true }, // 'full' | 'incremental'
    { name: 'persons', type: 'bigint', notNull: true },
    { name: 'recomputed', type: 'bigint', notNull: true }, // people whose features were computed from their events
    { name: 'refreshed_at', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['as_of'],
};

/** Behavioral features rolled up per account (B2B), one row per account per as-of time. */
export const ACCOUNT_FEATURES: TableDef = {
  name: 'account_features',
  columns: [
    { name: 'as_of', type: 'timestamp', notNull: true },
    { name: 'group_id', type: 'text', notNull: true },
    { name: 'members', type: 'bigint' },
    { name: 'active_users', type: 'bigint' },
    { name: 'roles', type: 'json' },
    { name: 'feature_breadth', type: 'bigint' },
    { name: 'features_used', type: 'json' },
    { name: 'purchases', type: 'bigint' },
    { name: 'revenue', type: 'double' },
    { name: 'last_activity', type: 'timestamp' },
  ],
};

/** Segment definitions (Segment): one row per segment, the current version; a changed definition bumps `version`. */
export const SEGMENTS: TableDef = {
  name: 'segments',
  columns: [
    { name: 'name', type: 'text', notNull: true },
    { name: 'version', type: 'integer', notNull: true },
    { name: 'definition', type: 'json', notNull: true },
    { name: 'definition_hash', type: 'text', notNull: true },
    { name: 'source', type: 'text' }, // the file it was read from
    { name: 'active', type: 'boolean', notNull: true },
    { name: 'updated_at', type: 'timestamp', notNull: true },
    { name: 'retired_at', type: 'timestamp' },
  ],
  primaryKey: ['name'],
};

/** Membership history: a person may enter, leave and re-enter; current members have no exited_at. */
export const SEGMENT_MEMBERSHIPS: TableDef = {
  name: 'segment_memberships',
  columns: [
    { name: 'segment', type: 'text', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'entered_at', type: 'timestamp', notNull: true },
    { name: 'exited_at', type: 'timestamp' },
  ],
};

/** Every membership change, in order (`seq`): what activation consumes (triggers on enter and exit). */
export const SEGMENT_CHANGES: TableDef = {
  name: 'segment_changes',
  columns: [
    { name: 'seq', type: 'bigint', notNull: true },
    { name: 'segment', type: 'text', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'change', type: 'text', notNull: true }, // enter | exit
    { name: 'changed_at', type: 'timestamp', notNull: true }, // the as-of time of the refresh that saw it
    { name: 'refresh_id', type: 'bigint', notNull: true },
  ],
};

/** One row per segment per refresh: size over time. */
/**
 * One row per segment refresh: what it saw, so the next refresh can start from it (incremental) when nothing it
 * relied on has changed but the events since.
 */
export const SEGMENT_EVALUATIONS: TableDef = {
  name: 'segment_evaluations',
  columns: [
    { name: 'refresh_id', type: 'bigint', notNull: true },
    { name: 'as_of', type: 'timestamp', notNull: true },
    { name: 'ingest_batch', type: 'bigint', notNull: true }, // the last ingest batch it saw
    { name: 'events', type: 'bigint', notNull: true }, // rows in events then: fewer now + new means some were deleted
    { name: 'signature', type: 'text', notNull: true }, // the active definitions and the compiler version
    { name: 'relations', type: 'text', notNull: true }, // JSON: a fingerprint of each joined relation as of as_of
    { name: 'mode', type: 'text', notNull: true }, // 'full' | 'incremental'
    { name: 'recomputed', type: 'bigint', notNull: true }, // people evaluated from their events
    { name: 'refreshed_at', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['refresh_id'],
};

export const SEGMENT_REFRESHES: TableDef = {
  name: 'segment_refreshes',
  columns: [
    { name: 'refresh_id', type: 'bigint', notNull: true },
    { name: 'segment', type: 'text', notNull: true },
    { name: 'version', type: 'integer', notNull: true },
    { name: 'as_of', type: 'timestamp', notNull: true },
    { name: 'size', type: 'bigint', notNull: true },
    { name: 'entered', type: 'bigint', notNull: true },
    { name: 'exited', type: 'bigint', notNull: true },
    { name: 'refreshed_at', type: 'timestamp', notNull: true },
  ],
};

/**
 * Fitted predictive models (Model step): one row per fit, never updated, so `segflow models report` shows the last
 * fit and older ones stay for comparison. `options` holds what was fitted on (purchase events, window, time unit),
 * `params` the estimates, `diagnostics` the checks computed at fit time.
 */
export const MODEL_FITS: TableDef = {
  name: 'model_fits',
  columns: [
    { name: 'id', type: 'text', notNull: true },
    { name: 'model', type: 'text', notNull: true }, // bgnbd | gammagamma | clusters
    { name: 'fitted_at', type: 'timestamp', notNull: true },
    { name: 'time_unit', type: 'text' }, // the unit of every time parameter (null for models without time)
    { name: 'options', type: 'json', notNull: true },
    { name: 'params', type: 'json', notNull: true },
    { name: 'standard_errors', type: 'json' },
    { name: 'log_likelihood', type: 'double' },
    { name: 'people', type: 'bigint', notNull: true },
    { name: 'diagnostics', type: 'json', notNull: true },
    { name: 'seconds', type: 'double', notNull: true }, // wall time of the fit, summaries included
  ],
  primaryKey: ['id'],
};

/**
 * Per-person scores as of a time: what segment definitions read as `predicted.*`. Horizons are stored as text with
 * their unit ("52 weeks", "12 months") so a number is never read in the wrong unit.
 */
export const PREDICTIONS: TableDef = {
  name: 'predictions',
  columns: [
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'as_of', type: 'timestamp', notNull: true },
    { name: 'bgnbd_fit', type: 'text' },
    { name: 'gammagamma_fit', type: 'text' },
    { name: 'p_alive', type: 'double' },
    { name: 'expected_purchases', type: 'double' },
    { name: 'purchases_horizon', type: 'text' },
    { name: 'expected_order_value', type: 'double' },
    { name: 'clv', type: 'double' },
    { name: 'clv_horizon', type: 'text' },
  ],
  primaryKey: ['person_id', 'as_of'],
};

/** Plays as last loaded from a playbook (Activate): one row per play, the current version. */
export const PLAYS: TableDef = {
  name: 'plays',
  columns: [
    { name: 'name', type: 'text', notNull: true },
    { name: 'version', type: 'integer', notNull: true },
    { name: 'definition', type: 'json', notNull: true },
    { name: 'definition_hash', type: 'text', notNull: true },
    { name: 'updated_at', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['name'],
};

/**
 * The outbox: one row per (play, person, trigger occurrence) — the idempotency key — with its state: pending,
 * deferred (quiet hours), sent, withheld (holdout), blocked (a guard said no; `reason` says which), dead (gave up).
 */
export const DELIVERIES: TableDef = {
  name: 'deliveries',
  columns: [
    { name: 'id', type: 'bigint', notNull: true },
    { name: 'idempotency_key', type: 'text', notNull: true },
    { name: 'play', type: 'text', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'trigger', type: 'text', notNull: true }, // enter | exit | schedule
    { name: 'occurred_at', type: 'timestamp', notNull: true },
    { name: 'channel', type: 'text', notNull: true },
    { name: 'destination', type: 'text' },
    { name: 'variant', type: 'text' },
    { name: 'status', type: 'text', notNull: true },
    { name: 'reason', type: 'text' },
    { name: 'attempts', type: 'integer', notNull: true },
    { name: 'next_attempt_at', type: 'timestamp' },
    { name: 'last_error', type: 'text' },
    { name: 'created_at', type: 'timestamp', notNull: true },
    { name: 'sent_at', type: 'timestamp' },
  ],
  primaryKey: ['idempotency_key'],
};

/** Who a play decided about and in which arm: the first exposure per person per play starts measurement. */
export const EXPOSURES: TableDef = {
  name: 'exposures',
  columns: [
    { name: 'play', type: 'text', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'arm', type: 'text', notNull: true }, // treatment | holdout
    { name: 'variant', type: 'text' },
    { name: 'exposed_at', type: 'timestamp', notNull: true },
    { name: 'idempotency_key', type: 'text', notNull: true },
  ],
  primaryKey: ['idempotency_key'],
};

/** Where each play's triggers have got to: the last segment change consumed and the last schedule tick. */
export const ACTIVATION_CURSORS: TableDef = {
  name: 'activation_cursors',
  columns: [
    { name: 'play', type: 'text', notNull: true },
    { name: 'last_seq', type: 'bigint', notNull: true },
    { name: 'last_tick', type: 'timestamp' },
  ],
  primaryKey: ['play'],
};

/** Every audience file segflow wrote: where, what, and up to which segment change (for the next delta). */
export const AUDIENCE_EXPORTS: TableDef = {
  name: 'audience_exports',
  columns: [
    { name: 'id', type: 'bigint', notNull: true },
    { name: 'segment', type: 'text', notNull: true },
    { name: 'format', type: 'text', notNull: true },
    { name: 'mode', type: 'text', notNull: true },
    { name: 'path', type: 'text', notNull: true },
    { name: 'rows', type: 'bigint', notNull: true },
    { name: 'since_seq', type: 'bigint', notNull: true },
    { name: 'until_seq', type: 'bigint', notNull: true },
    { name: 'as_of', type: 'timestamp', notNull: true },
    { name: 'written_at', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['id'],
};

/** Who did what to which, when and from where (Govern): append-only. */
export const AUDIT_LOG: TableDef = {
  name: 'audit_log',
  columns: [
    { name: 'id', type: 'bigint', notNull: true },
    { name: 'occurred_at', type: 'timestamp', notNull: true },
    { name: 'actor', type: 'text', notNull: true }, // key:<id> or cli:<os user>
    { name: 'action', type: 'text', notNull: true },
    { name: 'target', type: 'text' },
    { name: 'source', type: 'text' }, // an IP address, or cli
    { name: 'detail', type: 'json' },
  ],
  primaryKey: ['id'],
};

/** What is left of a deleted person: salted SHA-256 of each identifier, so late events and re-imports are dropped. */
export const PRIVACY_TOMBSTONES: TableDef = {
  name: 'privacy_tombstones',
  columns: [
    { name: 'identifier_hash', type: 'text', notNull: true },
    { name: 'deleted_at', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['identifier_hash'],
};

/** People who must never be messaged (by salted identifier hash), with why. */
export const SUPPRESSIONS: TableDef = {
  name: 'suppressions',
  columns: [
    { name: 'identifier_hash', type: 'text', notNull: true },
    { name: 'reason', type: 'text' },
    { name: 'suppressed_at', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['identifier_hash'],
};

/**
 * Per-person scores of the models that are not purchase models, as of a time, one row per score: churn and purchase
 * probabilities (propensity) and cluster assignments (`value` = cluster id, `label` = its words). Segment
 * definitions read them as `predicted.churn_probability`, `predicted.purchase_probability` and `cluster`.
 */
export const PERSON_SCORES: TableDef = {
  name: 'person_scores',
  columns: [
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'as_of', type: 'timestamp', notNull: true },
    { name: 'score', type: 'text', notNull: true }, // churn_probability | purchase_probability | cluster
    { name: 'value', type: 'double' },
    { name: 'label', type: 'text' },
    { name: 'fit_id', type: 'text', notNull: true },
  ],
  primaryKey: ['person_id', 'as_of', 'score'],
};

/**
 * Persons on events: a merge of a person who already had events into another leaves an override here (merged-away
 * id → surviving id) until a squash folds it into `events.person_id` (src/instrument/persons-on-events.ts).
 */
export const PERSON_OVERRIDES: TableDef = {
  name: 'person_overrides',
  columns: [
    { name: 'old_person_id', type: 'text', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'overridden_at', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['old_person_id'],
};

/**
 * Every person id ever merged away, with the person it now belongs to (chains resolved: always the surviving id).
 * Unlike the overrides, a squash does not empty it: rows stored under a merged-away id (an open membership, a live
 * feature row) are found through it when the surviving person is evaluated again, where a pass over every identity
 * would otherwise be needed (~0.25 s per streaming evaluation on a million people).
 */
export const PERSON_MERGES: TableDef = {
  name: 'person_merges',
  columns: [
    { name: 'old_person_id', type: 'text', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'merged_at', type: 'timestamp', notNull: true },
  ],
  primaryKey: ['old_person_id'],
};

/**
 * Event kinds: each distinct (type, event name) pair the events have, numbered. Ingest stamps every event with its
 * kind (`events.event_kind`, added by migration 19), so the feature and segment passes over millions of events test
 * a small integer instead of comparing two strings per event and per condition (about half of a feature pass's
 * aggregate time on the 1M-person benchmark went to those comparisons). Kinds are only ever added, never renumbered.
 * `event` is '' for messages without an event name (page, screen, identify, …).
 */
export const EVENT_KINDS: TableDef = {
  name: 'event_kinds',
  columns: [
    { name: 'kind', type: 'integer', notNull: true },
    { name: 'type', type: 'text', notNull: true },
    { name: 'event', type: 'text', notNull: true },
  ],
  primaryKey: ['type', 'event'],
};

/**
 * The view every step reads events through: each event with its person, from the id stored on the event and the
 * pending overrides (one join with a small table), never the identity graph.
 */
function personEventsView(added: readonly string[] = []): string {
  const columns = [...EVENTS.columns.map((c) => c.name), ...added].map((c) => `e.${c}`).join(', ');
  return `CREATE OR REPLACE VIEW person_events AS
    SELECT coalesce(o.person_id, e.person_id) AS person_id, ${columns}
    FROM events e LEFT JOIN person_overrides o ON o.old_person_id = e.person_id`;
}

/** The latest value per key across a person's identifiers, ties broken by message id so results are stable. */
function latestPerPerson(d: Dialect, table: string, key: string, value: string): string {
  return `SELECT i.person_id, t.${key} AS key, ${d.argMax(`t.${value}`, '(t.ts, t.message_id)')} AS value
    FROM ${table} t JOIN identities i ON i.identifier = t.identifier GROUP BY i.person_id, t.${key}`;
}

/**
 * Every consent answer ever given, with its time (identity_consent keeps only the latest): consent as of any past
 * time is the latest answer at or before it.
 */
export const CONSENT_HISTORY: TableDef = {
  name: 'consent_history',
  columns: [
    { name: 'identifier', type: 'text', notNull: true },
    { name: 'purpose', type: 'text', notNull: true },
    { name: 'granted', type: 'boolean', notNull: true },
    { name: 'ts', type: 'timestamp', notNull: true },
    { name: 'message_id', type: 'text', notNull: true },
  ],
  primaryKey: ['identifier', 'purpose', 'message_id'],
  keyIndexed: false,
};

/** Privacy requests (delete, tombstone) and when their erasure reached storage (null while pending). */
export const PRIVACY_REQUESTS: TableDef = {
  name: 'privacy_requests',
  columns: [
    { name: 'id', type: 'bigint', notNull: true },
    { name: 'kind', type: 'text', notNull: true }, // delete | tombstone
    { name: 'tombstone', type: 'text', notNull: true },
    { name: 'persons', type: 'integer', notNull: true },
    { name: 'requested_at', type: 'timestamp', notNull: true },
    { name: 'erased_at', type: 'timestamp' },
  ],
  primaryKey: ['id'],
};

/** The consent answers carried by stored events, one row per (identifier, purpose, message). */
export function consentAnswersOf(d: Dialect, events: string): string {
  const prefs = d.jsonValue('e.context', `'$.consent.categoryPreferences'`);
  return `SELECT coalesce(e.user_id, e.anonymous_id) AS identifier, je.key AS purpose,
                 ${d.jsonText('je.value', "'$'")} = 'true' AS granted, e.ts, e.message_id
          FROM ${d.jsonMembersJoin(`(SELECT * FROM ${events} WHERE ${d.jsonTextContains('context', '"categoryPreferences"')}) e`, prefs, 'je')}
          WHERE ${d.jsonKind(prefs)} = 'object' AND ${d.jsonKind('je.value')} = 'boolean'`;
}

/**
 * The overview's activity summary, kept by src/instrument/activity-summary.ts from the events added since it last
 * looked: each person's events, revenue and orders per day (one row per day and current person), and the days'
 * totals. Derived data: rebuilt from the events whenever events were deleted.
 */
export const ACTIVITY_PERSON_DAYS: TableDef = {
  name: 'activity_person_days',
  columns: [
    { name: 'day', type: 'timestamp', notNull: true },
    { name: 'person_id', type: 'text', notNull: true },
    { name: 'events', type: 'bigint', notNull: true },
    { name: 'revenue', type: 'double', notNull: true },
    { name: 'orders', type: 'bigint', notNull: true },
  ],
  primaryKey: ['day', 'person_id'],
};

export const ACTIVITY_DAYS: TableDef = {
  name: 'activity_days',
  columns: [
    { name: 'day', type: 'timestamp', notNull: true },
    { name: 'events', type: 'bigint', notNull: true },
    { name: 'people', type: 'bigint', notNull: true },
    { name: 'revenue', type: 'double', notNull: true },
  ],
  primaryKey: ['day'],
};

/**
 * Who has had which email address: one row per (lower-cased email trait, identifier) ever seen, never updated, so
 * people search finds an email by a point lookup instead of reading every trait. A superset of the current emails
 * (an address replaced later stays): readers confirm a match against identity_traits.
 */
export const IDENTITY_EMAILS: TableDef = {
  name: 'identity_emails',
  columns: [
    { name: 'email', type: 'text', notNull: true },
    { name: 'identifier', type: 'text', notNull: true },
  ],
  primaryKey: ['email', 'identifier'],
  keyIndexed: false,
};

/**
 * The lower-cased email of a trait value (JSON), as people search compares it.
 *
 * @example
 * emailKey(d, 't.value'); // lower(json_extract_string(t.value, '$')) on DuckDB
 */
export function emailKey(d: Dialect, json: string, path = "'$'"): string {
  return `lower(${d.jsonText(json, path)})`;
}

/**
 * The (email, identifier) pairs of identity_emails carried by the email traits in identity_traits.
 *
 * @example
 * await wh.run(`INSERT INTO identity_emails (email, identifier) ${traitEmailsOf(wh.dialect)} ON CONFLICT DO NOTHING`);
 */
export function traitEmailsOf(d: Dialect): string {
  return `SELECT DISTINCT ${emailKey(d, 'value')} AS email, identifier FROM identity_traits
          WHERE key = 'email' AND ${emailKey(d, 'value')} IS NOT NULL`;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events, identity graph, profiles and accounts',
    statements: (d) => [
      d.createTable(EVENTS),
      d.createTable(keyIndexedAsReleased(IDENTITIES)),
      d.createTable(IDENTITY_EDGES),
      d.createTable(keyIndexedAsReleased(IDENTITY_ACTIVITY)),
      d.createTable(keyIndexedAsReleased(IDENTITY_TRAITS)),
      d.createTable(keyIndexedAsReleased(IDENTITY_CONSENT)),
      d.createTable(ACCOUNT_TRAITS),
      d.createTable(ACCOUNT_MEMBERS),
      // Every later step reads events through this view: the event with the person it resolves to today.
      `CREATE OR REPLACE VIEW person_events AS
        SELECT i.person_id, e.* FROM events e
        JOIN identities i ON i.identifier = coalesce(e.user_id, e.anonymous_id)`,
      // Columns taken from a joined relation are named explicitly: ClickHouse names \`a.x\` after two joins \`a.x\`.
      `CREATE OR REPLACE VIEW persons AS
        WITH activity AS (
          SELECT i.person_id, min(a.first_seen) AS first_seen, max(a.last_seen) AS last_seen,
                 sum(a.events) AS event_count, count(*) AS identifier_count, ${d.boolOr('i.is_user')} AS identified
          FROM identity_activity a JOIN identities i ON i.identifier = a.identifier GROUP BY i.person_id),
        traits AS (
          SELECT person_id, ${d.jsonObjectAgg('key', 'value')} AS traits
          FROM (${latestPerPerson(d, 'identity_traits', 'key', 'value')}) GROUP BY person_id),
        consent AS (
          SELECT person_id, ${d.jsonObjectAgg('key', 'value')} AS consent
          FROM (${latestPerPerson(d, 'identity_consent', 'purpose', 'granted')}) GROUP BY person_id)
        SELECT a.person_id AS person_id, a.identified AS identified, a.first_seen AS first_seen,
               a.last_seen AS last_seen, a.event_count AS event_count, a.identifier_count AS identifier_count,
               coalesce(t.traits, '{}') AS traits, coalesce(c.consent, '{}') AS consent
        FROM activity a LEFT JOIN traits t ON t.person_id = a.person_id LEFT JOIN consent c ON c.person_id = a.person_id`,
      `CREATE OR REPLACE VIEW account_persons AS
        SELECT DISTINCT m.group_id, i.person_id FROM account_members m JOIN identities i ON i.identifier = m.identifier`,
      `CREATE OR REPLACE VIEW accounts AS
        WITH members AS (SELECT group_id, count(*) AS member_count FROM account_persons GROUP BY group_id),
        traits AS (
          SELECT group_id, ${d.jsonObjectAgg('key', 'value')} AS traits FROM (
            SELECT group_id, key, ${d.argMax('value', '(ts, message_id)')} AS value FROM account_traits GROUP BY group_id, key)
          GROUP BY group_id),
        ids AS (SELECT DISTINCT group_id FROM account_members UNION SELECT DISTINCT group_id FROM account_traits)
        SELECT ids.group_id AS group_id, coalesce(m.member_count, 0) AS member_count, coalesce(t.traits, '{}') AS traits
        FROM ids LEFT JOIN members m ON m.group_id = ids.group_id LEFT JOIN traits t ON t.group_id = ids.group_id`,
    ],
  },
  {
    version: 2,
    description: 'rejected events and the import log',
    statements: (d) => [d.createTable(REJECTED_EVENTS), d.createTable(IMPORT_RUNS)],
  },
  {
    version: 3,
    description: 'API keys for the collector and the admin API',
    statements: (d) => [d.createTable(API_KEYS)],
  },
  {
    version: 4,
    description: 'behavioral features per person per as-of time',
    statements: (d) => [
      d.createTable(FEATURES),
      d.createTable(ACCOUNT_FEATURES),
      `CREATE OR REPLACE VIEW features_latest AS SELECT * FROM features WHERE as_of = (SELECT max(as_of) FROM features)`,
    ],
  },
  {
    version: 5,
    description: 'predictive model fits and per-person predictions',
    statements: (d) => [d.createTable(MODEL_FITS), d.createTable(PREDICTIONS)],
  },
  {
    version: 6,
    description: 'segments, membership history, the membership change log and refresh sizes',
    statements: (d) => [
      d.createTable(SEGMENTS),
      d.createTable(SEGMENT_MEMBERSHIPS),
      d.createTable(SEGMENT_CHANGES),
      d.createTable(SEGMENT_REFRESHES),
    ],
  },
  {
    version: 7,
    description: 'plays, the delivery outbox, exposures and trigger cursors',
    statements: (d) => [
      d.createTable(PLAYS),
      d.createTable(DELIVERIES),
      d.createTable(EXPOSURES),
      d.createTable(ACTIVATION_CURSORS),
      // decide() reads one person's current memberships per request.
      'CREATE INDEX IF NOT EXISTS segment_memberships_person ON segment_memberships (person_id)',
    ],
  },
  {
    version: 8,
    description: 'audience files written (for deltas and privacy deletes)',
    statements: (d) => [d.createTable(AUDIENCE_EXPORTS)],
  },
  {
    version: 9,
    description: 'audit log, privacy tombstones and the suppression list',
    statements: (d) => [
      d.createTable(AUDIT_LOG),
      d.createTable(PRIVACY_TOMBSTONES),
      d.createTable(SUPPRESSIONS),
    ],
  },
  {
    version: 10,
    description: 'per-person scores of propensity models and cluster assignments',
    statements: (d) => [d.createTable(PERSON_SCORES)],
  },
  {
    version: 11,
    description: 'import runs record their rejects file (privacy deletes scrub it)',
    statements: () => ['ALTER TABLE import_runs ADD COLUMN IF NOT EXISTS rejects_file VARCHAR'],
  },
  {
    version: 12,
    description: 'incremental feature refresh: the refresh log and the last purchase time',
    statements: (d) => [
      'ALTER TABLE features ADD COLUMN IF NOT EXISTS rfm_last_purchase TIMESTAMP',
      d.createTable(FEATURE_REFRESHES),
    ],
  },
  {
    version: 13,
    description: 'incremental segment refresh: the evaluation log',
    statements: (d) => [d.createTable(SEGMENT_EVALUATIONS)],
  },
  {
    version: 14,
    description: 'persons on events: the person id stored on each event, and overrides for later merges',
    statements: (d) => [
      'ALTER TABLE events ADD COLUMN IF NOT EXISTS person_id VARCHAR',
      `UPDATE events SET person_id = i.person_id FROM identities i
        WHERE i.identifier = coalesce(events.user_id, events.anonymous_id)`,
      d.createTable(PERSON_OVERRIDES),
      personEventsView(),
    ],
  },
  {
    version: 16,
    description:
      'consent history, the consent each delivery relied on, and privacy requests with their erasure',
    statements: (d) => [
      d.createTable(keyIndexedAsReleased(CONSENT_HISTORY)),
      `INSERT INTO consent_history (identifier, purpose, granted, ts, message_id)
        SELECT identifier, purpose, granted, ts, message_id FROM (${consentAnswersOf(d, 'events')})
        WHERE identifier IS NOT NULL ON CONFLICT DO NOTHING`,
      'ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS consent VARCHAR',
      d.createTable(PRIVACY_REQUESTS),
    ],
  },
  {
    version: 17,
    description: "the overview's activity summary: people's events, revenue and orders per day",
    statements: (d) => [d.createTable(ACTIVITY_PERSON_DAYS), d.createTable(ACTIVITY_DAYS)],
  },
  {
    version: 18,
    description:
      "point lookups for a person's page and people search: traits and consent by identifier, emails",
    statements: (d) => [
      // DuckDB looks rows up through single-column indexes only: the primary keys (identifier, key|purpose) do not
      // serve `identifier = ?`, so a person's traits were a scan of every trait (~0.2 s on 1M people).
      'CREATE INDEX IF NOT EXISTS identity_traits_identifier ON identity_traits (identifier)',
      'CREATE INDEX IF NOT EXISTS identity_consent_identifier ON identity_consent (identifier)',
      d.createTable(keyIndexedAsReleased(IDENTITY_EMAILS)),
      'CREATE INDEX IF NOT EXISTS identity_emails_email ON identity_emails (email)',
      `INSERT INTO identity_emails (email, identifier) ${traitEmailsOf(d)} ON CONFLICT DO NOTHING`,
    ],
  },
  {
    version: 19,
    description: 'event kinds: each event stamped with the number of its (type, event name)',
    statements: (d) => [
      d.createTable(EVENT_KINDS),
      'ALTER TABLE events ADD COLUMN IF NOT EXISTS event_kind INTEGER',
      `INSERT INTO event_kinds (kind, type, event)
        SELECT CAST(row_number() OVER (ORDER BY type, event) AS INTEGER), type, event
        FROM (SELECT DISTINCT type, coalesce(event, '') AS event FROM events)`,
      `UPDATE events SET event_kind = k.kind FROM event_kinds k
        WHERE k.type = events.type AND k.event = coalesce(events.event, '')`,
      personEventsView(['event_kind']),
    ],
  },
  {
    version: 20,
    description:
      "point lookups for the stream's decisions: a person's identifiers, an identifier's consent history",
    statements: () => [
      // Each streaming evaluation and each decide() reads the consent of a few people as of T: without this, every
      // such read joined all identities with all consent answers (~0.5 s on 1M people, 191 times in a minute of the
      // realtime benchmark). Now it finds their identifiers and looks their answers up (consentAsOf in
      // activate/guards.ts). Not indexed: identities.person_id, which merges update — with that index DuckDB 1.5
      // failed a commit after a SIGKILL and its WAL replay, then aborted reverting it (test/server/crash.test.ts).
      'CREATE INDEX IF NOT EXISTS consent_history_identifier ON consent_history (identifier)',
    ],
  },
  {
    version: 21,
    description: 'every merged-away person id with its survivor, kept after squashes',
    statements: (d) => [d.createTable(PERSON_MERGES), personMergesFromIdentities(d)],
  },
  {
    version: 22,
    description: 'the identity tables keep their keys by upsert, without a unique index',
    statements: (d) => [
      ...IDENTIFIER_INDEXES.map(([name]) => `DROP INDEX IF EXISTS ${name}`),
      ...[...MERGE_KEYED].flatMap((def) => rebuildWithoutKeyIndex(d, def)),
      ...IDENTIFIER_INDEXES.map(([name, table, column]) => `CREATE INDEX ${name} ON ${table} (${column})`),
    ],
  },
];

/**
 * A table as migrations before version 22 created it, with a unique index on its key: those migrations write it with
 * ON CONFLICT, and a migration once released never changes.
 */
function keyIndexedAsReleased(def: TableDef): TableDef {
  return { ...def, keyIndexed: true };
}

/**
 * The statements that copy a table into one made from `def` (without its key's index) and put it in its place: DuckDB
 * cannot drop a primary key in place. Views read tables by name, so they read the new one.
 */
function rebuildWithoutKeyIndex(d: Dialect, def: TableDef): string[] {
  const scratch = `${def.name}__rebuilt`;
  const columns = def.columns.map((c) => d.quoteIdent(c.name)).join(', ');
  return [
    `DROP TABLE IF EXISTS ${scratch}`,
    d.createTable({ ...def, name: scratch }),
    `INSERT INTO ${scratch} (${columns}) SELECT ${columns} FROM ${def.name}`,
    `DROP TABLE ${def.name}`,
    `ALTER TABLE ${scratch} RENAME TO ${def.name}`,
  ];
}

/**
 * A database made before person_merges: the merged-away ids that still hold rows — an identifier that is not its
 * person's id but is the person id of an open membership or a features row (a person id is always one of its own
 * identifiers, so every merged-away id is in identities).
 */
export function personMergesFromIdentities(d: Dialect): string {
  return `INSERT INTO person_merges (old_person_id, person_id, merged_at)
    SELECT i.identifier, i.person_id, ${d.now()} FROM identities i
    WHERE i.identifier <> i.person_id AND i.identifier IN (
      SELECT person_id FROM segment_memberships WHERE exited_at IS NULL UNION SELECT person_id FROM features)`;
}

/** The tables whose key is kept by the upsert port's MERGE, not by a unique index (TableDef.keyIndexed). */
const MERGE_KEYED: readonly TableDef[] = [
  IDENTITIES,
  IDENTITY_ACTIVITY,
  IDENTITY_TRAITS,
  IDENTITY_CONSENT,
  CONSENT_HISTORY,
  IDENTITY_EMAILS,
];
/**
 * Their point lookups: an identifier's person, traits and consent (a person's page, the stream's guards, decide's
 * first sight of an identifier), a person's identifiers (each streaming evaluation's guards: a scan of every identity,
 * ~0.13 s at 1M people, before this index) and an email's identifiers. Not unique, so a write never looks a key up in
 * them. The person_id index was once tried beside the primary key and dropped (schema version 20's note: DuckDB
 * aborted replaying its log after a SIGKILL); without the key the crash tests pass with it.
 */
const IDENTIFIER_INDEXES: readonly [name: string, table: string, column: string][] = [
  ['identities_identifier', 'identities', 'identifier'],
  ['identities_person', 'identities', 'person_id'],
  ['identity_activity_identifier', 'identity_activity', 'identifier'],
  ['identity_traits_identifier', 'identity_traits', 'identifier'],
  ['identity_consent_identifier', 'identity_consent', 'identifier'],
  ['consent_history_identifier', 'consent_history', 'identifier'],
  ['identity_emails_email', 'identity_emails', 'email'],
];

/** Their names, for the engines' upsert renderers. */
export const KEYED_BY_MERGE: ReadonlySet<string> = new Set(MERGE_KEYED.map((t) => t.name));

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
