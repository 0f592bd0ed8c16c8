import { z } from 'zod';
import {
  type ConsentAnswer,
  consentAsOf,
  consentBlock,
  loadSendLog,
  quietUntil,
  type SendLog,
  suppressionCheck,
  traitsOf,
} from '../activate/guards.js';
import { type Play, type Playbook, purposeOf } from '../activate/playbook.js';
import { durationMs } from '../config/duration.js';
import type { Warehouse } from '../engine/warehouse.js';
import { assignArm, HOLDOUT_ARM } from '../shared/arm-assignment.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * Personalize: for one person now, the highest-priority play whose segment they are in and whose guards pass, with
 * its content variant — and the reasons, so a marketer can see why this play and not another.
 */
export const CandidateSchema = z.object({
  play: z.string(),
  priority: z.number(),
  eligible: z.boolean(),
  reasons: z
    .array(z.string())
    .describe(
      'each check in order: `segment: in champion`, `consent: email granted`, `cap: ok`, `holdout: …`',
    ),
});
export type Candidate = z.output<typeof CandidateSchema>;

export const DecisionSchema = z
  .object({
    personId: z.string().nullable().describe('the canonical person id; null for an unknown identifier'),
    asOf: Timestamp,
    segments: z.array(z.string()),
    play: z
      .object({
        name: z.string(),
        offer: z.string(),
        channel: z.string(),
        variant: z.string(),
        content: z
          .record(z.string(), z.unknown())
          .describe("the variant's content, as written in the playbook"),
        kpi: z.string().nullable(),
      })
      .nullable()
      .describe('the chosen play, or null when no play is eligible'),
    candidates: z.array(CandidateSchema),
  })
  .meta({ id: 'Decision' });
export type Decision = z.output<typeof DecisionSchema>;

export async function decide(
  wh: Warehouse,
  pb: Playbook,
  identifier: string,
  options: { asOf?: Date } = {},
): Promise<Decision> {
  const asOf = options.asOf ?? new Date();
  const [who] = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [identifier],
  );
  if (!who) return { personId: null, asOf, segments: [], play: null, candidates: [] };
  const personId = who.person_id;
  const memberships = await wh.query<{ segment: string }>(
    `SELECT DISTINCT segment FROM segment_memberships
     WHERE person_id = ? AND entered_at <= ? AND (exited_at IS NULL OR exited_at > ?) ORDER BY segment`,
    [personId, asOf, asOf],
  );
  const segments = memberships.map((m) => m.segment);
  if (!pb.plays.some((p) => segments.includes(p.segment))) {
    return { personId, asOf, segments, play: null, candidates: [] };
  }
  const [consent, traits, sendLog, history, suppressed] = await Promise.all([
    consentAsOf(wh, [personId], asOf),
    traitsOf(wh, [personId]),
    loadSendLog(wh, pb, [personId], asOf),
    wh.query<{ play: string; occurred_at: Date }>(
      `SELECT play, occurred_at FROM deliveries WHERE person_id = ? AND status IN ('pending', 'deferred', 'sent', 'withheld', 'dead')`,
      [personId],
    ),
    suppressionCheck(wh),
  ]);
  const got = new Map<string, Date[]>();
  for (const h of history) got.set(h.play, [...(got.get(h.play) ?? []), h.occurred_at]);
  return decideFor(pb, personId, asOf, {
    segments,
    consent: consent.get(personId),
    traits: traits.get(personId) ?? {},
    sendLog,
    got,
    suppressed: suppressed(personId),
  });
}

/** What a decision needs to know of one person. */
export interface PersonState {
  segments: string[];
  consent: Map<string, ConsentAnswer> | undefined;
  traits: Record<string, unknown>;
  sendLog: SendLog;
  /** Per play, when this person got it (for the re-entry policy). */
  got: ReadonlyMap<string, readonly Date[]>;
  /** Why this person must never be messaged (the suppression list), or null. */
  suppressed?: string | null;
}

/** The decision itself: pure, over a person's state (read from the database, or from a snapshot). */
export function decideFor(pb: Playbook, personId: string, asOf: Date, state: PersonState): Decision {
  const inSegment = new Set(state.segments);
  const matching = pb.plays
    .filter((p) => inSegment.has(p.segment))
    .sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
  const decision: Decision = { personId, asOf, segments: state.segments, play: null, candidates: [] };
  for (const play of matching) {
    const reasons = [`segment: in ${play.segment}`];
    if (state.suppressed) {
      decision.candidates.push({
        play: play.name,
        priority: play.priority,
        eligible: false,
        reasons: [...reasons, state.suppressed],
      });
      continue;
    }
    const block = checks(pb, play, personId, asOf, {
      consent: state.consent,
      traits: state.traits,
      sendLog: state.sendLog,
      got: [...(state.got.get(play.name) ?? [])],
    });
    reasons.push(...block.reasons);
    decision.candidates.push({ play: play.name, priority: play.priority, eligible: block.ok, reasons });
    if (block.ok && !decision.play) {
      decision.play = {
        name: play.name,
        offer: play.offer,
        channel: play.channel,
        variant: block.variant,
        content: {
          ...play.content,
          ...(play.variants?.find((v) => v.name === block.variant)?.content ?? {}),
        },
        kpi: play.kpi ?? null,
      };
    }
  }
  return decision;
}

function checks(
  pb: Playbook,
  play: Play,
  personId: string,
  asOf: Date,
  state: {
    consent: Map<string, ConsentAnswer> | undefined;
    traits: Record<string, unknown>;
    sendLog: SendLog;
    got: Date[];
  },
): { ok: boolean; reasons: string[]; variant: string } {
  const reasons: string[] = [];
  const purpose = purposeOf(play);
  const consentReason = consentBlock(pb, state.consent, purpose);
  if (consentReason) return { ok: false, reasons: [...reasons, consentReason], variant: '' };
  reasons.push(`consent: ${purpose} granted`);
  const { arm } = assignArm(
    {
      seed: play.name,
      holdoutShare: play.holdout,
      ...(play.variants ? { variants: play.variants.map((v) => ({ name: v.name, weight: v.weight })) } : {}),
    },
    personId,
  );
  if (arm === HOLDOUT_ARM) {
    return {
      ok: false,
      reasons: [...reasons, `holdout: withheld for measurement (${play.holdout * 100}% held out)`],
      variant: '',
    };
  }
  if (play.re_entry === 'once' && state.got.length) {
    return {
      ok: false,
      reasons: [...reasons, 're-entry: once, and this person already got the play'],
      variant: '',
    };
  }
  if (typeof play.re_entry === 'object') {
    const w = durationMs(play.re_entry.at_most_once_per);
    if (state.got.some((t) => t.getTime() > asOf.getTime() - w)) {
      return {
        ok: false,
        reasons: [...reasons, `re-entry: at most once per ${play.re_entry.at_most_once_per}`],
        variant: '',
      };
    }
  }
  const cap = state.sendLog.capBlock(pb, personId, play.channel, asOf);
  if (cap) return { ok: false, reasons: [...reasons, cap], variant: '' };
  reasons.push('caps: within every cap');
  const quiet = quietUntil(pb, state.traits, asOf);
  if (quiet)
    return { ok: false, reasons: [...reasons, `quiet hours until ${quiet.toISOString()}`], variant: '' };
  reasons.push(`arm: ${arm}`);
  return { ok: true, reasons, variant: arm };
}
