import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { didYouMeanSuffix } from '../shared/did-you-mean.js';
import { Timestamp } from '../shared/timestamp.js';
import { createDestination } from './destinations/create-destination.js';
import type { DeliveryMessage, DestinationConfig } from './destinations/destination.js';
import { consentAsOf, consentBlock, suppressionCheck, traitsOf } from './guards.js';
import { type Playbook, purposeOf } from './playbook.js';

/**
 * A dry run or test send of one play to one person (or an address of your choosing): the message its destination
 * would get — the person's traits, the play's content and a variant — shown, and with `send` actually sent. Nothing
 * is recorded (no delivery, no exposure, no cursor). The guards a real delivery would meet (consent, suppression)
 * are reported, and applied to a send to the person's own address (a test is no licence to message someone who said
 * no); sent to an address of your choosing (`to`), the test goes where you point it.
 */
export const PlayTestSendSchema = z
  .object({
    play: z.string(),
    destination: z.string(),
    destinationType: z.string(),
    personId: z
      .string()
      .nullable()
      .describe('the person the identifier names (null: none; the traits are empty)'),
    sent: z
      .boolean()
      .describe('whether the message was handed to the destination (false for a dry run, or a send refused)'),
    to: z.string().nullable().describe('the address or URL used instead of the configured one'),
    message: z.object({
      idempotencyKey: z.string(),
      play: z.string(),
      segment: z.string(),
      personId: z.string(),
      trigger: z.enum(['enter', 'exit', 'schedule']),
      occurredAt: Timestamp,
      traits: z.record(z.string(), z.unknown()),
      content: z.record(z.string(), z.unknown()),
    }),
    result: z
      .object({ ok: z.boolean(), detail: z.string().optional(), error: z.string().optional() })
      .nullable()
      .describe(
        "the destination's answer, or why the send was refused (ok false, sent false); null for a dry run",
      ),
    notes: z
      .array(z.string())
      .describe('what a real delivery to this person would meet: consent, suppression'),
  })
  .meta({ id: 'PlayTestSend' });
export type PlayTestSend = z.output<typeof PlayTestSendSchema>;

export interface PlayTestSendOptions {
  play: string;
  /** Any identifier of the person whose traits fill the message. */
  person: string;
  /** Where to send instead: an email address (email destinations) or a URL (webhook, http_sync). */
  to?: string;
  /** A content variant by name (default: the first, or none). */
  variant?: string;
  /** Send it (default false: a dry run that only builds the message). */
  send?: boolean;
  asOf?: Date;
}

/** The destination's settings with `to` in place of its address. */
function redirected(cfg: DestinationConfig, to: string): DestinationConfig {
  if (cfg.type === 'email') return cfg;
  if (!URL.canParse(to)) {
    throw new SegflowError(
      'USAGE',
      `--to '${to}' is not a URL`,
      `a ${cfg.type} destination needs a URL, e.g. http://127.0.0.1:8788/hook`,
    );
  }
  return { ...cfg, url: to } as DestinationConfig;
}

/**
 * Build (and with `send`, send) one play's message for one person, recording nothing.
 *
 * @example
 * const r = await testSendPlay(wh, playbook, { play: 'champion-perks', person: 'usr_123', to: 'me@example.com', send: true });
 * r.result // { ok: true }
 */
export async function testSendPlay(
  wh: Warehouse,
  pb: Playbook,
  o: PlayTestSendOptions,
): Promise<PlayTestSend> {
  const play = pb.plays.find((p) => p.name === o.play);
  const names = pb.plays.map((p) => p.name);
  if (!play) {
    throw new SegflowError(
      'NOT_FOUND',
      `no play '${o.play}' in the playbook${didYouMeanSuffix(o.play, names)}`,
      `use one of ${names.join(', ')}`,
    );
  }
  if (!play.destination) {
    throw new SegflowError(
      'USAGE',
      `play '${play.name}' has no destination: it is served by decide()`,
      `preview it with \`segflow decide ${o.person} --no-record\``,
    );
  }
  const cfg = pb.destinations[play.destination]!;
  const variants = play.variants ?? [];
  const variant = o.variant === undefined ? variants[0] : variants.find((v) => v.name === o.variant);
  if (o.variant !== undefined && !variant) {
    throw new SegflowError(
      'USAGE',
      `play '${play.name}' has no variant '${o.variant}'${didYouMeanSuffix(
        o.variant,
        variants.map((v) => v.name),
      )}`,
      `use one of ${variants.map((v) => v.name).join(', ') || '(it has none)'}`,
    );
  }
  const asOf = o.asOf ?? new Date();
  const [found] = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [o.person],
  );
  const personId = found?.person_id ?? null;
  const traits = personId ? ((await traitsOf(wh, [personId])).get(personId) ?? {}) : {};
  const notes: string[] = [];
  const blocks: string[] = [];
  if (!personId) notes.push(`no person '${o.person}': the message has no traits`);
  else {
    const suppressed = (await suppressionCheck(wh))(personId);
    const consent = (await consentAsOf(wh, [personId], asOf)).get(personId);
    for (const block of [suppressed, consentBlock(pb, consent, purposeOf(play))]) {
      if (!block) continue;
      blocks.push(block);
      notes.push(`a real delivery would be blocked: ${block}`);
    }
  }
  if (o.to !== undefined && cfg.type === 'email') traits[cfg.toTrait] = o.to;
  const message: DeliveryMessage = {
    // Unique per test, so a receiver that dedupes does not drop the second test of the same play.
    idempotencyKey: `test:${play.name}:${randomUUID()}`,
    play: play.name,
    segment: play.segment,
    personId: personId ?? o.person,
    trigger: play.trigger.on,
    occurredAt: asOf,
    traits,
    content: {
      ...play.content,
      ...(variant?.content ?? {}),
      offer: play.offer,
      variant: variant?.name ?? 'treatment',
    },
  };
  let result: PlayTestSend['result'] = null;
  let sent = false;
  if (o.send && o.to === undefined && blocks.length > 0) {
    result = { ok: false, error: `refused, as a real delivery would be: ${blocks.join('; ')}` };
  } else if (o.send) {
    sent = true;
    const destination = createDestination(play.destination, o.to === undefined ? cfg : redirected(cfg, o.to));
    try {
      const [r] = await destination.send([message]);
      result = r!.ok
        ? { ok: true, ...(r!.detail ? { detail: r!.detail } : {}) }
        : { ok: false, error: r!.error };
    } finally {
      await destination.close();
    }
  }
  return {
    play: play.name,
    destination: play.destination,
    destinationType: cfg.type,
    personId,
    sent,
    to: o.to ?? null,
    message,
    result,
    notes,
  };
}
