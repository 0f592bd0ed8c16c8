import { durationMs } from '../../src/config/duration.js';
import type { ModelConfig } from '../../src/model/model-config.js';

/**
 * A plain in-memory TypeScript computation of every feature, written from docs/features.md without looking at the
 * SQL: the differential test compares the two on random event logs.
 */
export interface RefEvent {
  personId: string;
  ts: number;
  type: string;
  event?: string;
  name?: string;
  revenue?: number | null;
  properties?: Record<string, unknown>;
  messageId: string;
}

const DAY = 86_400_000;
const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

function textOf(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
function num(v: unknown): number | null {
  const t = textOf(v);
  return t !== null && NUMERIC.test(t) ? Number(t) : null;
}
function isNamed(e: RefEvent, names: readonly string[]): boolean {
  if (e.type === 'page') return names.includes('$page');
  if (e.type === 'screen') return names.includes('$screen');
  return e.type === 'track' && e.event !== undefined && names.includes(e.event);
}
const isTrack = (e: RefEvent, name: string) => e.type === 'track' && e.event === name;
const later = (a: RefEvent, b: RefEvent) => (a.ts !== b.ts ? a.ts > b.ts : a.messageId > b.messageId);
function latest(events: RefEvent[]): RefEvent | undefined {
  let best: RefEvent | undefined;
  for (const e of events) if (!best || later(e, best)) best = e;
  return best;
}

export type RefFeatures = Record<string, unknown>;

export function referenceFeatures(
  events: readonly RefEvent[],
  cfg: ModelConfig,
  asOf: Date,
): Map<string, RefFeatures> {
  const T = asOf.getTime();
  const byPerson = new Map<string, RefEvent[]>();
  for (const e of events) {
    if (e.ts > T) continue;
    const list = byPerson.get(e.personId);
    if (list) list.push(e);
    else byPerson.set(e.personId, [e]);
  }
  const out = new Map<string, RefFeatures>();
  const decayed = (list: RefEvent[], weights: Record<string, number>, halfLife: string) => {
    let score = 0;
    for (const e of list) {
      const name =
        e.type === 'page'
          ? '$page'
          : e.type === 'screen'
            ? '$screen'
            : e.type === 'track'
              ? e.event
              : undefined;
      if (name === undefined || !(name in weights)) continue;
      score += weights[name]! * 0.5 ** ((T - e.ts) / durationMs(halfLife));
    }
    return score;
  };
  for (const [id, list] of byPerson) {
    const purchases = list.filter((e) => isNamed(e, cfg.purchase.events));
    const activity = list.filter((e) => e.type === 'track' || e.type === 'page' || e.type === 'screen');
    const engagement = list.filter((e) => isNamed(e, Object.keys(cfg.engagement.weights)));
    const engagedRecent = engagement.filter((e) => e.ts > T - durationMs(cfg.lifecycle.engagedWithin));
    const activation = list.filter((e) => isNamed(e, cfg.lifecycle.activation));
    const s = cfg.support;
    const surveys = list.filter((e) => isTrack(e, s.survey.event));
    const lastOf = (kind: string) =>
      latest(surveys.filter((e) => textOf(e.properties?.[s.survey.typeProperty]) === kind));
    const csat = lastOf(s.survey.csat);
    const nps = lastOf(s.survey.nps);
    const a = cfg.adoption;
    const featureOf = (e: RefEvent) => textOf(e.properties?.[a.property]);
    const usage = latest(list.filter((e) => isTrack(e, a.usage.event)));
    const usageNow = usage ? num(usage.properties?.[a.usage.usageProperty]) : null;
    const usageLimit = usage ? num(usage.properties?.[a.usage.limitProperty]) : null;
    const perFeature = new Map<string, number>();
    for (const e of list) {
      if (!isTrack(e, a.event) || !(e.ts > T - durationMs(a.window))) continue;
      const f = featureOf(e);
      if (f !== null) perFeature.set(f, (perFeature.get(f) ?? 0) + 1);
    }
    const uses = [...perFeature.values()].reduce((x, y) => x + y, 0);
    const tickets = new Map<string, { created: boolean; resolved: boolean }>();
    for (const e of list) {
      const created = isTrack(e, s.created);
      const resolved = isTrack(e, s.resolved);
      if (!created && !resolved) continue;
      const t = textOf(e.properties?.[s.ticketProperty]);
      if (t === null) continue;
      const st = tickets.get(t) ?? { created: false, resolved: false };
      st.created ||= created;
      st.resolved ||= resolved;
      tickets.set(t, st);
    }
    const sortedPurchases = [...purchases].sort((x, y) => (later(x, y) ? 1 : later(y, x) ? -1 : 0));
    const loyalSince = sortedPurchases[cfg.lifecycle.loyalPurchases - 1]?.ts ?? null;
    const lastActivity = activity.length ? Math.max(...activity.map((e) => e.ts)) : null;
    const firstSeen = Math.min(...list.map((e) => e.ts));
    const activatedAt = activation.length ? Math.min(...activation.map((e) => e.ts)) : null;
    const churnAfter = durationMs(cfg.lifecycle.churnedAfter);
    const riskAfter = durationMs(cfg.lifecycle.atRiskAfter);
    let stage: string;
    let since: number;
    if (lastActivity !== null && lastActivity <= T - churnAfter) {
      stage = 'churned';
      since = lastActivity + churnAfter;
    } else if (lastActivity === null) {
      stage = 'new lead';
      since = firstSeen;
    } else if (lastActivity <= T - riskAfter) {
      stage = 'at risk';
      since = lastActivity + riskAfter;
    } else if (loyalSince !== null) {
      stage = 'loyal advocate';
      since = loyalSince;
    } else if (engagedRecent.length >= cfg.lifecycle.engagedEvents) {
      stage = 'engaged';
      since = Math.min(...engagedRecent.map((e) => e.ts));
    } else if (activatedAt !== null) {
      stage = 'activated';
      since = activatedAt;
    } else {
      stage = 'new lead';
      since = firstSeen;
    }
    const engagementScore = decayed(list, cfg.engagement.weights, cfg.engagement.halfLife);
    const intentScore = decayed(list, cfg.intent.weights, cfg.intent.halfLife);
    const revenue = purchases.reduce((x, e) => x + (e.revenue ?? 0), 0);
    const funnelSteps: Record<string, number> = {};
    const funnelAbandoned: Record<string, boolean> = {};
    for (const [name, f] of Object.entries(cfg.funnels)) {
      const w = durationMs(f.within);
      const starts = list.filter((e) => isTrack(e, f.steps[0]!));
      let best = 0;
      for (const start of starts) {
        let t = start.ts;
        let reached = 1;
        for (const step of f.steps.slice(1)) {
          const next = list
            .filter((e) => isTrack(e, step) && e.ts > t)
            .reduce<RefEvent | undefined>((m, e) => (!m || e.ts < m.ts ? e : m), undefined);
          if (!next || next.ts > start.ts + w) break;
          t = next.ts;
          reached++;
        }
        best = Math.max(best, reached);
      }
      funnelSteps[name] = best;
      const lastStart = starts.length ? Math.max(...starts.map((e) => e.ts)) : null;
      funnelAbandoned[name] =
        best >= 1 && best <= f.steps.length - 1 && lastStart !== null && lastStart + w <= T;
    }
    out.set(id, {
      first_seen: firstSeen,
      last_seen: Math.max(...list.map((e) => e.ts)),
      last_activity: lastActivity,
      rfm_recency_days: purchases.length ? (T - Math.max(...purchases.map((e) => e.ts))) / DAY : null,
      rfm_frequency: purchases.length,
      rfm_repeat_purchases: purchases.length
        ? new Set(purchases.map((e) => new Date(e.ts).toISOString().slice(0, 10))).size - 1
        : 0,
      rfm_monetary_total: revenue,
      rfm_monetary_avg: purchases.length ? revenue / purchases.length : null,
      lifecycle_stage: stage,
      lifecycle_since: since,
      engagement_score: engagementScore,
      engagement_tier:
        engagementScore >= cfg.engagement.tiers.high
          ? 'highly engaged'
          : engagementScore >= cfg.engagement.tiers.moderate
            ? 'moderately engaged'
            : 'inactive',
      adoption_breadth: perFeature.size,
      adoption_uses: uses,
      adoption_depth: Object.fromEntries(perFeature),
      adoption_key_activated: list.some(
        (e) => isTrack(e, a.event) && a.keyFeatures.includes(featureOf(e) ?? '\u0000'),
      ),
      adoption_usage_share:
        usageLimit !== null && usageLimit > 0 && usageNow !== null ? usageNow / usageLimit : null,
      adoption_nearing_limit:
        usageLimit !== null &&
        usageLimit > 0 &&
        usageNow !== null &&
        usageNow / usageLimit >= a.usage.nearing,
      adoption_tier:
        uses >= a.tiers.power
          ? 'power'
          : uses >= a.tiers.regular
            ? 'regular'
            : uses >= a.tiers.light
              ? 'light'
              : 'dormant',
      adoption_power_features: [...perFeature]
        .filter(([, n]) => n >= a.powerUses)
        .map(([f]) => f)
        .sort(),
      intent_score: intentScore,
      intent_tier:
        intentScore >= cfg.intent.tiers.high
          ? 'high'
          : intentScore >= cfg.intent.tiers.medium
            ? 'medium'
            : 'low',
      support_tickets: list.filter((e) => isTrack(e, s.created) && e.ts > T - durationMs(s.window)).length,
      support_open_tickets: [...tickets.values()].filter((t) => t.created && !t.resolved).length,
      support_last_csat: csat ? num(csat.properties?.[s.survey.scoreProperty]) : null,
      support_last_nps: nps ? num(nps.properties?.[s.survey.scoreProperty]) : null,
      support_detractor: nps ? (num(nps.properties?.[s.survey.scoreProperty]) ?? 99) <= 6 : false,
      funnel_steps: funnelSteps,
      funnel_abandoned: funnelAbandoned,
    });
  }
  // RFM scores among purchasers: score = floor(5 · (rank − 1) / n) + 1, rank = 1 + #strictly worse.
  const buyers = [...out].filter(([, f]) => (f.rfm_frequency as number) > 0);
  const n = buyers.length;
  const score = (value: (f: RefFeatures) => number, higherIsBetter: boolean) => {
    const vals = buyers.map(([, f]) => value(f));
    return buyers.map(([id, f]) => {
      const v = value(f);
      const worse = vals.filter((x) => (higherIsBetter ? x < v : x > v)).length;
      return [id, Math.floor((5 * worse) / n) + 1] as const;
    });
  };
  const r = new Map(score((f) => f.rfm_recency_days as number, false));
  const fq = new Map(score((f) => f.rfm_frequency as number, true));
  const m = new Map(score((f) => Math.round((f.rfm_monetary_total as number) * 100), true));
  for (const [id, f] of out) {
    const R = r.get(id) ?? null;
    const F = fq.get(id) ?? null;
    const M = m.get(id) ?? null;
    f.rfm_r = R;
    f.rfm_f = F;
    f.rfm_m = M;
    f.rfm_rf_sum = R === null ? null : R + F!;
    f.rfm_code = R === null ? null : `${R}${F}${M}`;
    f.rfm_group = R === null ? null : cfg.rfm.grid[5 - R]![F! - 1]!;
  }
  return out;
}
