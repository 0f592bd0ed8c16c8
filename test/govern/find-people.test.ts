import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { isSegflowError } from '../../src/errors.js';
import { findPeople } from '../../src/govern/find-people.js';
import { deletePerson, exportPerson, suppressPerson } from '../../src/govern/privacy.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { at, HOUR, identify, track } from '../activate/helpers.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer, type TestServer } from '../server/helpers.js';

const ACTOR = { actor: 'cli:test' };

/** Jane (by email, with stray case and spaces), two people sharing one email, one by phone, and a bystander. */
const PEOPLE = [
  identify('u-jane', at(0), { email: '  Jane@Example.com ', name: 'Jane' }),
  track('u-jane', 'Order Completed', at(HOUR), { properties: { revenue: 10 } }),
  identify('u-a', at(0), { email: 'shared@example.com' }),
  identify('u-b', at(0), { email: 'SHARED@example.com' }),
  track('u-b', 'Order Completed', at(HOUR), { properties: { revenue: 3 } }),
  identify('u-phone', at(0), { phone: '+1 (555) 010-2030' }),
  identify('u-other', at(0), { email: 'other@example.com' }),
  track('u-other', 'Order Completed', at(HOUR), { properties: { revenue: 7 } }),
];

/** Row counts of the tables a delete touches: equal before and after means nothing changed. */
async function counts(wh: Warehouse): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['events', 'identities', 'identity_traits', 'privacy_tombstones', 'suppressions']) {
    const [r] = await wh.query<{ n: number }>(`SELECT count(*) AS n FROM ${t}`);
    out[t] = Number(r!.n);
  }
  return out;
}

async function seeded(): Promise<Warehouse> {
  const wh = await openWarehouse({ path: ':memory:' });
  await ingestMessages(wh, PEOPLE, { source: 'test' });
  return wh;
}

async function rejects(p: Promise<unknown>, code: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isSegflowError(e), String(e));
    assert.equal(e.code, code);
    return e.message;
  }
  assert.fail(`expected ${code}`);
}

describe('privacy requests find people the way requests arrive', () => {
  test('an email finds the person whose email trait it is, compared trimmed and lower-cased', async () => {
    const wh = await seeded();
    const found = await findPeople(wh, { identifier: 'jane@EXAMPLE.com' });
    assert.deepEqual(found, [{ personId: 'u-jane', matchedBy: ['trait:email'], identifiers: ['u-jane'] }]);
    const r = await deletePerson(wh, 'jane@example.com', ACTOR);
    assert.equal(r.persons, 1);
    assert.equal(r.rows.events, 2);
    const [{ n } = { n: 0 }] = await wh.query<{ n: number }>(
      "SELECT count(*) AS n FROM events WHERE user_id = 'u-jane'",
    );
    assert.equal(Number(n), 0);
    assert.deepEqual(await findPeople(wh, { identifier: 'jane@example.com' }), []);
    // The bystander is untouched.
    assert.equal((await findPeople(wh, { identifier: 'other@example.com' })).length, 1);
    await wh.close();
  });

  test('a phone number is compared without spaces, dashes and brackets', async () => {
    const wh = await seeded();
    const r = await suppressPerson(wh, '+15550102030', 'asked by phone', ACTOR);
    assert.deepEqual(r, { persons: 1, identifiers: 1 });
    await wh.close();
  });

  test('an unknown identifier is NOT_FOUND and changes nothing', async () => {
    const wh = await seeded();
    const before = await counts(wh);
    for (const act of [
      () => deletePerson(wh, 'nobody@example.com', ACTOR),
      () => exportPerson(wh, 'nobody@example.com', ACTOR),
      () => suppressPerson(wh, 'nobody@example.com', null, ACTOR),
    ]) {
      assert.match(await rejects(act(), 'NOT_FOUND'), /nobody has the identifier 'nobody@example.com'/);
    }
    assert.deepEqual(await counts(wh), before);
    await wh.close();
  });

  test('an email shared by two people lists both and acts only with allMatching', async () => {
    const wh = await seeded();
    const before = await counts(wh);
    const message = await rejects(deletePerson(wh, 'shared@example.com', ACTOR), 'IDENTIFIER_AMBIGUOUS');
    assert.match(message, /matches 2 people/);
    assert.match(message, /u-a \(by trait:email/);
    assert.match(message, /u-b \(by trait:email/);
    assert.deepEqual(await counts(wh), before);
    const both = (await exportPerson(wh, 'shared@example.com', ACTOR, { allMatching: true })) as {
      people: { person_id: string }[];
    };
    assert.deepEqual(
      both.people.map((p) => p.person_id),
      ['u-a', 'u-b'],
    );
    const r = await deletePerson(wh, 'shared@example.com', ACTOR, { allMatching: true });
    assert.equal(r.persons, 2);
    const after = await counts(wh);
    assert.equal(after.identities, before.identities! - 2);
    assert.equal(after.events, before.events! - 3);
    await wh.close();
  });

  test('--tombstone-only blocks an identifier nobody has yet; its events are dropped when they arrive', async () => {
    const wh = await seeded();
    await rejects(deletePerson(wh, 'u-other', ACTOR, { tombstoneOnly: true }), 'USAGE');
    const r = await deletePerson(wh, 'u-future', ACTOR, { tombstoneOnly: true });
    assert.equal(r.persons, 0);
    const late = await ingestMessages(wh, [track('u-future', 'Signed Up', at(2 * HOUR))], { source: 'test' });
    assert.equal(late.erased, 1);
    assert.deepEqual(await findPeople(wh, { identifier: 'u-future' }), []);
    await wh.close();
  });

  test('the configured identifying traits replace the defaults', async () => {
    const wh = await seeded();
    assert.deepEqual(await findPeople(wh, { identifier: 'jane', identifyingTraits: ['name'] }), [
      { personId: 'u-jane', matchedBy: ['trait:name'], identifiers: ['u-jane'] },
    ]);
    assert.deepEqual(
      await findPeople(wh, { identifier: 'jane@example.com', identifyingTraits: ['name'] }),
      [],
    );
    await wh.close();
  });
});

describe('the same through the CLI and the admin API', () => {
  const dir = tempDir();
  const db = join(dir, 'people.duckdb');
  let server: TestServer;
  before(async () => {
    const wh = await openWarehouse({ path: db });
    await ingestMessages(wh, PEOPLE, { source: 'test' });
    await wh.close();
  });
  after(() => server?.close());

  test('CLI: unknown exits 1 saying so; a shared email lists both and acts only with --all-matching', () => {
    const unknown = segflow(['--db', db, 'privacy', 'delete', 'nobody@example.com']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /nobody has the identifier 'nobody@example.com'/);
    assert.match(unknown.stderr, /--tombstone-only/);
    const shared = segflow(['--db', db, 'privacy', 'delete', 'shared@example.com']);
    assert.equal(shared.status, 1);
    assert.match(shared.stderr, /u-a .*\n.*u-b/);
    assert.match(shared.stderr, /--all-matching/);
    const all = segflow(['--db', db, 'privacy', 'delete', 'shared@example.com', '--all-matching', '--json']);
    assert.equal(all.status, 0, all.stderr);
    assert.equal(JSON.parse(all.stdout).persons, 2);
    const status = segflow(['--db', db, 'privacy', 'status', '--json']);
    assert.equal(status.status, 0, status.stderr);
    assert.deepEqual(
      JSON.parse(status.stdout).map((r: { kind: string; persons: number; erasedAt: string | null }) => [
        r.kind,
        r.persons,
        r.erasedAt,
      ]),
      [['delete', 2, null]],
    );
  });

  test('API: unknown is 404; an email in any case finds the person', async () => {
    server = await startTestServer({ dbPath: db });
    const post = (path: string, body: object) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.keys.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const unknown = await post('/api/v1/privacy/persons/nobody%40example.com/delete', {});
    assert.equal(unknown.status, 404);
    const one = await post('/api/v1/privacy/persons/JANE%40example.com/export', {});
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { person_id: string }).person_id, 'u-jane');
    const del = await post('/api/v1/privacy/persons/jane%40example.com/delete', {});
    assert.equal(del.status, 200);
    assert.equal(((await del.json()) as { persons: number }).persons, 1);
  });
});
