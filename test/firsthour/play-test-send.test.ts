// Finding of issue 24 ("what users of the peers expect"): a dry run / test send of a play to a given person or
// address — as a library function, from the CLI with --json, and through the admin API — that records nothing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { testSendPlay } from '../../src/activate/play-test-send.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import { suppressPerson } from '../../src/govern/privacy.js';
import { at, events, identify, SECRET, startReceiver } from '../activate/helpers.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer } from '../server/helpers.js';

const playbookText = (url: string) => `consent: { default: deny }
destinations:
  hook: { type: webhook, url: "${url}", secret: "${SECRET}" }
plays:
  - name: perks
    segment: champion
    offer: loyalty perks
    channel: webhook
    purpose: marketing
    destination: hook
    content: { headline: thanks }
    variants: [{ name: warm, content: { body: hello } }, { name: cool, content: { body: hi } }]
`;

const counts = async (wh: Awaited<ReturnType<typeof openWarehouse>>) =>
  (
    await wh.query<{ d: number; e: number }>(
      'SELECT (SELECT count(*) FROM deliveries)::INTEGER AS d, (SELECT count(*) FROM exposures)::INTEGER AS e',
    )
  )[0];

test('a dry run of a play for a person shows the message with their traits and sends nothing; --send sends it, recording nothing', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const dir = tempDir();
  const wh = await openWarehouse({ path: join(dir, 'segflow.duckdb') });
  await events(wh, [identify('ann', at(0), { email: 'ann@example.com', first_name: 'Ann' })]);
  await wh.close();
  writeFileSync(join(dir, 'playbook.yaml'), playbookText(receiver.url));

  const dry = await segflowHere(['activate', 'test', 'perks', 'ann', '--json'], dir);
  assert.equal(dry.status, 0, dry.stderr);
  const r = JSON.parse(dry.stdout) as {
    sent: boolean;
    result: unknown;
    message: { traits: Record<string, unknown>; content: Record<string, unknown> };
    notes: string[];
  };
  assert.equal(r.sent, false);
  assert.equal(r.result, null);
  assert.deepEqual(r.message.traits, { email: 'ann@example.com', first_name: 'Ann' });
  assert.deepEqual(r.message.content, {
    headline: 'thanks',
    body: 'hello',
    offer: 'loyalty perks',
    variant: 'warm',
  });
  assert.ok(
    r.notes.some((n) => /a real delivery would be blocked: .*marketing/.test(n)),
    r.notes.join('\n'),
  );
  assert.equal(receiver.ids.size, 0, 'a dry run sends nothing');

  // Ann has not agreed to marketing: a test send to her own address is refused as a real delivery would be.
  const refused = await segflowHere(['activate', 'test', 'perks', 'ann', '--send', '--json'], dir);
  assert.equal(refused.status, 1, refused.stdout);
  const why = (JSON.parse(refused.stdout) as { error: { code: string; message: string; hint: string } })
    .error;
  assert.equal(why.code, 'SEND_REFUSED');
  assert.match(
    why.message,
    /^test send of perks to ann not sent: refused, as a real delivery would be: .*marketing/,
  );
  assert.match(why.hint, /--to ADDRESS/);
  assert.equal(receiver.requests.length, 0, 'nothing sent');
  const human = await segflowHere(['activate', 'test', 'perks', 'ann', '--send'], dir);
  assert.equal(human.status, 1);
  assert.match(human.stderr, /error: test send of perks to ann not sent: refused.*marketing/);

  // To an address of one's own, the test goes where it is pointed.
  const sent = await segflowHere(
    ['activate', 'test', 'perks', 'ann', '--variant', 'cool', '--send', '--to', receiver.url, '--json'],
    dir,
  );
  assert.equal(sent.status, 0, sent.stderr);
  assert.deepEqual((JSON.parse(sent.stdout) as { result: unknown }).result, { ok: true, detail: 'HTTP 200' });
  assert.equal(receiver.requests.length, 1);
  const req = receiver.requests[0]!;
  const body = new Webhook(SECRET).verify(req.body, req.headers as Record<string, string>) as {
    content: { variant: string };
  };
  assert.equal(body.content.variant, 'cool', 'signed like a real delivery');

  const check = await openWarehouse({ path: join(dir, 'segflow.duckdb'), readOnly: true });
  assert.deepEqual(await counts(check), { d: 0, e: 0 }, 'no delivery and no exposure recorded');
  await check.close();

  // A destination that refuses the message: exit 1 with its answer.
  receiver.status = 500;
  const failed = await segflowHere(
    ['activate', 'test', 'perks', 'ann', '--send', '--to', receiver.url, '--json'],
    dir,
  );
  assert.equal(failed.status, 1, failed.stdout);
  const error = (JSON.parse(failed.stdout) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'SEND_REFUSED');
  assert.match(error.message, /not sent: .*500/);
  receiver.status = 200;

  const typo = await segflowHere(['activate', 'test', 'perk', 'ann', '--json'], dir);
  assert.equal(typo.status, 1);
  assert.match(typo.stdout, /no play 'perk' in the playbook — did you mean 'perks'\?/);
});

test('a test send to a given address goes there instead of the configured destination (library and admin API)', async (t) => {
  const configured = await startReceiver();
  const mine = await startReceiver();
  t.after(() => Promise.all([configured.close(), mine.close()]).then(() => undefined));
  const dir = tempDir();
  const file = join(dir, 'playbook.yaml');
  writeFileSync(file, playbookText(configured.url));
  const server = await startTestServer({ playbook: file });
  t.after(() => server.close());
  await events(server.wh, [identify('bob', at(0), { email: 'bob@example.com' })]);

  const direct = await testSendPlay(server.wh, parsePlaybook(playbookText(configured.url)), {
    play: 'perks',
    person: 'bob',
    to: mine.url,
    send: true,
  });
  assert.deepEqual(direct.result, { ok: true, detail: 'HTTP 200' });
  assert.equal(mine.requests.length, 1);
  assert.equal(configured.requests.length, 0);

  const r = await fetch(`${server.url}/api/v1/plays/perks/test`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.keys.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ person: 'bob', to: mine.url, send: true }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.equal((JSON.parse(text) as { sent: boolean }).sent, true);
  assert.equal(mine.requests.length, 2);
  assert.equal(configured.requests.length, 0);
  assert.deepEqual(await counts(server.wh), { d: 0, e: 0 });
});

test('a test send to a suppressed person is refused even with their consent; sent elsewhere it goes', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const dir = tempDir();
  const wh = await openWarehouse({ path: join(dir, 'segflow.duckdb') });
  t.after(() => wh.close());
  await events(wh, [identify('cy', at(0), { email: 'cy@example.com' }, { marketing: true })]);
  const pb = parsePlaybook(playbookText(receiver.url));
  const consented = await testSendPlay(wh, pb, { play: 'perks', person: 'cy', send: true });
  assert.deepEqual([consented.sent, consented.result], [true, { ok: true, detail: 'HTTP 200' }]);
  await suppressPerson(wh, 'cy', 'asked us to stop', { actor: 'test' });
  const suppressed = await testSendPlay(wh, pb, { play: 'perks', person: 'cy', send: true });
  assert.equal(suppressed.sent, false);
  assert.deepEqual(suppressed.result, {
    ok: false,
    error: 'refused, as a real delivery would be: suppressed: asked us to stop',
  });
  assert.equal(receiver.requests.length, 1, 'the refused test sent nothing');
  const elsewhere = await testSendPlay(wh, pb, { play: 'perks', person: 'cy', send: true, to: receiver.url });
  assert.deepEqual([elsewhere.sent, elsewhere.result?.ok], [true, true]);
  assert.equal(receiver.requests.length, 2);
});
