import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { z } from 'zod';
import type { DeliveryMessage, DeliveryResult, Destination, EmailDestinationConfig } from './destination.js';
import { renderTemplate } from './template.js';

/**
 * Email over SMTP (nodemailer). Subject and bodies are templates over the person's traits and the play's content;
 * the Message-ID is derived from the idempotency key, so a re-sent message is recognisable as the same one. A 4xx
 * SMTP reply or a connection failure is retried; a 5xx reply or a person without an address is not.
 */
export function emailDestination(name: string, config: z.output<typeof EmailDestinationConfig>): Destination {
  const transport = nodemailer.createTransport(config.smtp);
  const host = (() => {
    try {
      return new URL(config.smtp).hostname || 'segflow.local';
    } catch {
      return 'segflow.local';
    }
  })();
  const sendOne = async (m: DeliveryMessage): Promise<DeliveryResult> => {
    const to = m.traits[config.toTrait];
    if (typeof to !== 'string' || !to.includes('@')) {
      return { ok: false, retryable: false, error: `no email address in trait '${config.toTrait}'` };
    }
    const context = {
      traits: m.traits,
      content: m.content,
      play: m.play,
      segment: m.segment,
      person: { id: m.personId },
    };
    const digest = createHash('sha256').update(m.idempotencyKey).digest('hex').slice(0, 32);
    try {
      const info = await transport.sendMail({
        from: config.from,
        to,
        subject: renderTemplate(config.subject, context),
        text: renderTemplate(config.text, context),
        ...(config.html ? { html: renderTemplate(config.html, context, true) } : {}),
        messageId: `<${digest}@${host}>`,
        headers: { 'X-Segflow-Idempotency-Key': m.idempotencyKey },
      });
      return { ok: true, detail: info.response };
    } catch (e) {
      const code = (e as { responseCode?: number }).responseCode;
      return {
        ok: false,
        retryable: code === undefined || (code >= 400 && code < 500),
        error: `smtp: ${(e as Error).message}`,
      };
    }
  };
  return {
    name,
    type: 'email',
    send: async (messages) => {
      const out: DeliveryResult[] = [];
      for (const m of messages) out.push(await sendOne(m));
      return out;
    },
    close: async () => transport.close(),
  };
}
