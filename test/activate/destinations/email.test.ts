import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { DeliveryMessage } from '../../../src/activate/destinations/destination.js';
import { emailDestination } from '../../../src/activate/destinations/email.js';

/** A real SMTP server on loopback that keeps every message; `reject` makes it answer RCPT with that code. */
let server: SMTPServer;
let port = 0;
const inbox: { to: string; raw: string }[] = [];
let reject: number | null = null;

before(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(_address, _session, callback) {
      if (reject) {
        const err = new Error(reject >= 500 ? 'mailbox unavailable' : 'try again later') as Error & {
          responseCode: number;
        };
        err.responseCode = reject;
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        inbox.push({
          to: session.envelope.rcptTo.map((r) => r.address).join(','),
          raw: Buffer.concat(chunks).toString(),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const message = (traits: Record<string, unknown>, key = 'perks:ann:enter:1'): DeliveryMessage => ({
  idempotencyKey: key,
  play: 'perks',
  segment: 'champion',
  personId: 'ann',
  trigger: 'enter',
  occurredAt: new Date('2026-05-04T12:00:00Z'),
  traits,
  content: { offer: 'loyalty perks', variant: 'a', code: 'VIP<20>' },
});

test('email over a real SMTP server: templated subject and bodies, HTML escaped, Message-ID from the key', async () => {
  const dest = emailDestination('mail', {
    type: 'email',
    smtp: `smtp://127.0.0.1:${port}`,
    from: 'Shop <hello@shop.test>',
    toTrait: 'email',
    subject: 'Hi {{traits.first_name}}, your {{content.offer}}',
    text: 'Use code {{content.code}} ({{play}})',
    html: '<p>Use code <b>{{content.code}}</b></p>',
  });
  try {
    const [ok] = await dest.send([message({ email: 'ann@example.test', first_name: 'Ann' })]);
    assert.deepEqual(ok?.ok, true);
    const mail = await simpleParser(inbox.at(-1)!.raw);
    assert.equal(inbox.at(-1)!.to, 'ann@example.test');
    assert.equal(mail.subject, 'Hi Ann, your loyalty perks');
    assert.equal(mail.text?.trim(), 'Use code VIP<20> (perks)');
    assert.match(String(mail.html), /<b>VIP&lt;20&gt;<\/b>/);
    assert.equal(mail.headers.get('x-segflow-idempotency-key'), 'perks:ann:enter:1');
    const again = await dest.send([message({ email: 'ann@example.test', first_name: 'Ann' })]);
    assert.equal(again[0]?.ok, true);
    assert.equal(
      (await simpleParser(inbox.at(-1)!.raw)).messageId,
      mail.messageId,
      'a re-send carries the same Message-ID',
    );
    const [noAddress] = await dest.send([message({ first_name: 'Ann' })]);
    assert.deepEqual(noAddress, { ok: false, retryable: false, error: "no email address in trait 'email'" });
    reject = 451;
    const [soft] = await dest.send([message({ email: 'ann@example.test' })]);
    assert.equal(soft?.ok, false);
    assert.equal(soft && !soft.ok && soft.retryable, true, '4xx is retried');
    reject = 550;
    const [hard] = await dest.send([message({ email: 'ann@example.test' })]);
    assert.equal(hard && !hard.ok && hard.retryable, false, '5xx is not');
    reject = null;
  } finally {
    await dest.close();
  }
});
