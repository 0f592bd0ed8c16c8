import { z } from 'zod';
import { upsertPlays } from '../activate/activate-run.js';
import {
  type ConsentAnswer,
  consentAsOf,
  consentBlock,
  identifiersOf,
  loadSendLog,
  quietUntil,
  SendLog,
  suppressionCheck,
  traitsOf,
} from '../activate/guards.js';
import { type Play, type Playbook, purposeOf } from '../activate/playbook.js';
import { durationMs } from '../config/duration.js';
import type { Warehouse } from '../engine/warehouse.js';
import { assignArm, HOLDOUT_ARM } from '../shared/arm-assignment.js';
import { Timestamp } from '../shared/timestamp.js';
import { ExposureSchema, exposureKey, lastExposures, writeExposures } from './exposures.js';

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
    exposures: z
      .array(ExposureSchema)
      .describe(
        'the exposures this decision starts (in-app plays, those without a destination): the play served (treatment), and any higher play the person would have been served but is held out of (holdout, intent to treat); empty when this episode already has its exposure',
      ),
    recording: z
      .object({ recorded: z.boolean(), note: z.string() })
      .describe('whether `exposures` were recorded, and why not when they were not (read-only decisions)'),
  })
  .meta({ id: 'Decision' });
export type Decision = z.output<typeof DecisionSchema>;

/** What a decision says about recording when it records. */
export const RECORDED = {
  recorded: true,
  note: 'exposures recorded (once per person and play per re-entry episode)',
} as const;

/** Why a read-only decision (a backtest, a preview) recorded nothing. */
export const READ_ONLY = {
  recorded: false,
  note: 'read-only decision (record: false or as of a given time): no exposure recorded',
} as const;

export interface DecideOptions {
  /** Decide as of this time (default now). A decision as of a given time records nothing unless `record: true`. */
  asOf?: Date;
  /**
   * Record the decision's exposures (default: yes for decisions now, no for decisions as of a given time).
   * `record: true` with `asOf` records them at that time: a simulated clock.
   */
  record?: boolean;
}

const nobody = (asOf: Date, segments: string[] = [], personId: string | null = null): Decision => ({
  personId,
  asOf,
  segments,
  play: null,
  candidates: [],
  exposures: [],
  recording: READ_ONLY,
});

export async function decide(
  wh: Warehouse,
  pb: Playbook,
  identifier: string,
  options: DecideOptions = {},
): Promise<Decision> {
  const asOf = options.asOf ?? new Date();
  const record = options.record ?? options.asOf === undefined;
  const [who] = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [identifier],
  );
  if (!who) return withRecording(nobody(asOf), record);
  const personId = who.person_id;
  const state = await readPersonState(wh, pb, personId, asOf, { exposures: record });
  if (!pb.plays.some((p) => state.segments.includes(p.segment))) {
    return withRecording(nobody(asOf, state.segments, personId), record);
  }
  const decision = decideFor(pb, personId, asOf, state);
  if (!record) return withRecording(decision, false);
  if (decision.exposures.length) {
    // The play's definition (its holdout share) is what measure report reads the SRM check against.
    await upsertPlays(
      wh,
      { ...pb, plays: pb.plays.filter((p) => decision.exposures.some((e) => e.play === p.name)) },
      asOf,
    );
    await writeExposures(wh, decision.exposures);
  }
  return decision;
}

/**
 * What a decision needs of one person, read for that person alone (a few small queries, no scan of everyone):
 * memberships as of `asOf` and, when one of them has a play, consent, traits, sends within the caps, what they got
 * from each play, the suppression list and (with `exposures`) their last decide() exposures.
 *
 * @example
 * const state = await readPersonState(wh, pb, 'user-42', new Date(), { exposures: false });
 * const decision = decideFor(pb, 'user-42', new Date(), state);
 */
export async function readPersonState(
  wh: Warehouse,
  pb: Playbook,
  personId: string,
  asOf: Date,
  options: { exposures?: boolean } = {},
): Promise<PersonState> {
  const memberships = await wh.query<{ segment: string; entered_at: Date }>(
    `SELECT segment, max(entered_at) AS entered_at FROM segment_memberships
     WHERE person_id = ? AND entered_at <= ? AND (exited_at IS NULL OR exited_at > ?) GROUP BY segment ORDER BY segment`,
    [personId, asOf, asOf],
  );
  const segments = memberships.map((m) => m.segment);
  const enteredAt = new Map(memberships.map((m) => [m.segment, m.entered_at]));
  if (!pb.plays.some((p) => segments.includes(p.segment))) {
    // No play to weigh: nothing else is read.
    return { segments, enteredAt, consent: undefined, traits: {}, sendLog: new SendLog(), got: new Map() };
  }
  // One read of the person's identifiers serves consent and traits.
  const identifiers = await identifiersOf(wh, [personId]);
  const [consent, traits, sendLog, history, suppressed, exposed] = await Promise.all([
    consentAsOf(wh, [personId], asOf, identifiers),
    traitsOf(wh, [personId], identifiers),
    loadSendLog(wh, pb, [personId], asOf),
    wh.query<{ play: string; occurred_at: Date }>(
      `SELECT play, occurred_at FROM deliveries WHERE person_id = ? AND status IN ('pending', 'deferred', 'sent', 'withheld', 'dead')`,
      [personId],
    ),
    suppressionCheck(wh),
    options.exposures ? lastExposures(wh, personId) : undefined,
  ]);
  const got = new Map<string, Date[]>();
  for (const h of history) got.set(h.play, [...(got.get(h.play) ?? []), h.occurred_at]);
  return {
    segments,
    enteredAt,
    consent: consent.get(personId),
    traits: traits.get(personId) ?? {},
    sendLog,
    got,
    suppressed: suppressed(personId),
    exposedAt: exposed?.get(personId) ?? new Map(),
  };
}

/** A read-only decision lists what it would have recorded as nothing: it starts no exposure. */
export function withRecording(decision: Decision, record: boolean): Decision {
  return record ? { ...decision, recording: RECORDED } : { ...decision, exposures: [], recording: READ_ONLY };
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
  /** When the current membership of each segment began (for exposures of `every_time` plays). */
  enteredAt?: ReadonlyMap<string, Date>;
  /** Per play, this person's last decide() exposure (so an episode is exposed once). */
  exposedAt?: ReadonlyMap<string, Date>;
}

/** The decision itself: pure, over a person's state (read from the database, or from a snapshot). */
export function decideFor(pb: Playbook, personId: string, asOf: Date, state: PersonState): Decision {
  const inSegment = new Set(state.segments);
  const matching = pb.plays
    .filter((p) => inSegment.has(p.segment))
    .sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
  const decision: Decision = {
    personId,
    asOf,
    segments: state.segments,
    play: null,
    candidates: [],
    exposures: [],
    recording: RECORDED,
  };
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
    // Exposed: the play served, and each play above it this person would have been served but is held out of.
    if ((block.ok || block.heldOut) && !decision.play && !play.destination) {
      const key = exposureKey({
        play: play.name,
        personId,
        policy: play.re_entry,
        at: asOf,
        lastAt: state.exposedAt?.get(play.name),
        enteredAt: state.enteredAt?.get(play.segment),
      });
      if (key) {
        decision.exposures.push({
          play: play.name,
          personId,
          arm: block.ok ? 'treatment' : HOLDOUT_ARM,
          variant: block.ok && play.variants ? block.variant : null,
          exposedAt: asOf,
          key,
        });
      }
    }
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
): { ok: boolean; heldOut: boolean; reasons: string[]; variant: string } {
  const reasons: string[] = [];
  const no = (reason: string) => ({ ok: false, heldOut: false, reasons: [...reasons, reason], variant: '' });
  const purpose = purposeOf(play);
  const consentReason = consentBlock(pb, state.consent, purpose);
  if (consentReason) return no(consentReason);
  reasons.push(`consent: ${purpose} granted`);
  // The other checks, in order, each with what it says when it passes (null) or the reason it blocks.
  const rest: [pass: string | null, block: () => string | null][] = [
    [
      null,
      () => {
        if (play.re_entry === 'once' && state.got.length) {
          return 're-entry: once, and this person already got the play';
        }
        if (typeof play.re_entry === 'object') {
          const w = durationMs(play.re_entry.at_most_once_per);
          if (state.got.some((t) => t.getTime() > asOf.getTime() - w)) {
            return `re-entry: at most once per ${play.re_entry.at_most_once_per}`;
          }
        }
        return null;
      },
    ],
    ['caps: within every cap', () => state.sendLog.capBlock(pb, personId, play.channel, asOf)],
    [
      null,
      () => {
        const quiet = quietUntil(pb, state.traits, asOf);
        return quiet ? `quiet hours until ${quiet.toISOString()}` : null;
      },
    ],
  ];
  const { arm } = assignArm(
    {
      seed: play.name,
      holdoutShare: play.holdout,
      ...(play.variants ? { variants: play.variants.map((v) => ({ name: v.name, weight: v.weight })) } : {}),
    },
    personId,
  );
  if (arm === HOLDOUT_ARM) {
    // Held out: the reason is the holdout, but the person counts as exposed (intent to treat) only if they would
    // have been served now — every other check passes — so both arms' windows start alike.
    return {
      ...no(`holdout: withheld for measurement (${play.holdout * 100}% held out)`),
      heldOut: rest.every(([, block]) => block() === null),
    };
  }
  for (const [pass, block] of rest) {
    const reason = block();
    if (reason) return no(reason);
    if (pass) reasons.push(pass);
  }
  reasons.push(`arm: ${arm}`);
  return { ok: true, heldOut: false, reasons, variant: arm };
}
