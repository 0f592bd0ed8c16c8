import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runActivation } from '../../src/activate/activate-run.js';
import { exportAudience } from '../../src/activate/destinations/audience-file.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { deletePerson, exportPerson, type PersonExport, suppressPerson } from '../../src/govern/privacy.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { decide } from '../../src/personalize/decide.js';
import { at, BUYERS, HOUR, type Receiver, refresh, SECRET, startReceiver } from '../activate/helpers.js';
import { ENGINES } from '../helpers/engines.js';
import { TABLE_CATALOG } from '../helpers/table-catalog.js';
import { tempDir } from '../helpers/temp.js';

const CANARIES = [
  'canary-user-7731',
  'canary-anon-5519',
  'canary-mail-4242@example.test',
  'Canarina-9083',
  'canary-order-1177',
];
const ACTOR = { actor: 'cli:test' };

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/**
 * Privacy requests with everything around them — audience files, the activation outbox and deliveries, exposures,
 * suppressions and decide() — on each engine (privacy-engines.test.ts has finding, export and delete alone).
 */
for (const engine of ENGINES) {
  describe(`${engine.name}: privacy with audiences and activation`, () => {
    test('a deleted person leaves no trace in any table or written file; late events and re-imports stay out', async () => {
      const dir = tempDir();
      const receiver: Receiver = await startReceiver();
      const source = join(dir, 'history.ndjson');
      const messages = [
        {
          type: 'track',
          event: 'Product Viewed',
          anonymousId: 'canary-anon-5519',
          timestamp: at(0).toISOString(),
          messageId: 'c1',
        },
        {
          type: 'identify',
          userId: 'canary-user-7731',
          anonymousId: 'canary-anon-5519',
          traits: { email: 'canary-mail-4242@example.test', first_name: 'Canarina-9083' },
          context: { consent: { categoryPreferences: { webhook: true } } },
          timestamp: at(HOUR).toISOString(),
          messageId: 'c2',
        },
        {
          type: 'track',
          event: 'Order Completed',
          userId: 'canary-user-7731',
          properties: { revenue: 42, order_id: 'canary-order-1177' },
          timestamp: at(2 * HOUR).toISOString(),
          messageId: 'c3',
        },
        {
          type: 'group',
          userId: 'canary-user-7731',
          groupId: 'acme',
          traits: { name: 'Acme' },
          timestamp: at(2 * HOUR).toISOString(),
          messageId: 'c4',
        },
        {
          type: 'track',
          userId: 'canary-user-7731',
          timestamp: at(2 * HOUR).toISOString(),
          messageId: 'c5-invalid',
        },
        {
          type: 'track',
          event: 'Order Completed',
          userId: 'someone-else',
          properties: { revenue: 10 },
          timestamp: at(2 * HOUR).toISOString(),
          messageId: 'o1',
        },
        {
          type: 'identify',
          userId: 'someone-else',
          traits: { first_name: 'Other' },
          context: { consent: { categoryPreferences: { webhook: true } } },
          timestamp: at(HOUR).toISOString(),
          messageId: 'o2',
        },
      ];
      writeFileSync(source, `${messages.map((m) => JSON.stringify(m)).join('\n')}\n`);
      mkdirSync(join(dir, 'store'));
      const wh = await engine.open();
      try {
        await importFile(wh, { path: source, rejectsPath: join(dir, 'store', 'rejects.ndjson') });
        const pb = parsePlaybook(`
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - { name: thanks, segment: recent-buyers, offer: thanks, channel: webhook, destination: hook }
`);
        await runActivation(wh, pb, { asOf: at(0) });
        await refreshFeatures(wh, modelConfig(), { asOf: at(3 * HOUR) });
        await refresh(wh, at(3 * HOUR), [BUYERS]);
        await runActivation(wh, pb, { asOf: at(4 * HOUR) });
        for (const format of ['csv', 'parquet'] as const) {
          await exportAudience(wh, {
            segment: 'recent-buyers',
            format,
            mode: 'full',
            dir: join(dir, 'store', 'audiences'),
            traits: ['email', 'first_name'],
            hashedEmail: true,
            asOf: at(4 * HOUR),
          });
        }
        const exported = (await exportPerson(wh, 'canary-anon-5519', ACTOR)) as PersonExport;
        assert.equal(exported.person_id, 'canary-user-7731');
        assert.ok((exported.events as unknown[]).length >= 3);
        assert.equal((exported.deliveries as unknown[]).length, 1, 'the access export includes deliveries');

        // Before: the canaries are everywhere.
        const catalog = TABLE_CATALOG[engine.name];
        const tables = (await wh.query<{ table_name: string }>(catalog.tables, [catalog.schema])).map(
          (t) => t.table_name,
        );
        const traces = async () => {
          const found: string[] = [];
          for (const t of tables) {
            const cols = (await wh.query<{ column_name: string }>(catalog.columns, [catalog.schema, t])).map(
              (c) => c.column_name,
            );
            const text = cols.map((c) => `coalesce(${catalog.text(c)}, '')`).join(" || '|' || ");
            for (const canary of CANARIES) {
              const [hit] = await wh.query<{ n: number }>(
                `SELECT count(*) AS n FROM "${t}" WHERE ${text} LIKE ?`,
                [`%${canary}%`],
              );
              if (Number(hit!.n)) found.push(`${t}: ${canary}`);
            }
          }
          for (const f of filesUnder(join(dir, 'store'))) {
            const bytes = readFileSync(f).toString('latin1');
            for (const canary of CANARIES) if (bytes.includes(canary)) found.push(`${f}: ${canary}`);
          }
          return found;
        };
        const before = await traces();
        for (const t of [
          'events',
          'identities',
          'identity_traits',
          'features',
          'segment_memberships',
          'deliveries',
          'exposures',
          'rejected_events',
          'audit_log',
        ]) {
          assert.ok(
            before.some((x) => x.startsWith(`${t}:`)),
            `the canary is in ${t} before the delete`,
          );
        }
        assert.ok(
          before.some((x) => x.includes('audiences')),
          'and in the audience files',
        );

        const result = await deletePerson(wh, 'canary-anon-5519', ACTOR);
        assert.equal(result.identifiers, 2);
        assert.equal(result.filesRewritten, 3, 'two audience files and the rejects file');
        assert.deepEqual(await traces(), [], 'no trace after the delete');
        // Someone else is untouched.
        const [other] = await wh.query<{ n: number }>(
          `SELECT count(*) AS n FROM events WHERE user_id = 'someone-else'`,
        );
        assert.equal(Number(other!.n), 2);
        // Late events and a re-import are dropped.
        const late = await ingestMessages(
          wh,
          [
            {
              type: 'track',
              event: 'Product Viewed',
              userId: 'canary-user-7731',
              timestamp: at(5 * HOUR).toISOString(),
              messageId: 'late-1',
            },
          ],
          { source: 'collector' },
        );
        assert.equal(late.erased, 1);
        assert.equal(late.inserted, 0);
        const again = await importFile(wh, { path: source, rejectsPath: null });
        assert.equal(again.inserted, 0);
        assert.deepEqual(await traces(), [], 'still no trace after late events and a re-import');
        const [tomb] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM privacy_tombstones');
        assert.equal(Number(tomb!.n), 2);
      } finally {
        await wh.close();
        await receiver.close();
      }
    });

    test('a suppressed person is never messaged, and decide() says why', async () => {
      const wh = await engine.open();
      const receiver = await startReceiver();
      try {
        const pb = parsePlaybook(`
consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - { name: thanks, segment: recent-buyers, offer: thanks, channel: webhook, destination: hook }
`);
        await runActivation(wh, pb, { asOf: at(0) });
        await ingestMessages(
          wh,
          [
            {
              type: 'track',
              event: 'Order Completed',
              userId: 'quiet-please',
              timestamp: at(HOUR).toISOString(),
              messageId: 'q1',
            },
            {
              type: 'track',
              event: 'Order Completed',
              userId: 'fine',
              timestamp: at(HOUR).toISOString(),
              messageId: 'q2',
            },
          ],
          { source: 'test' },
        );
        await suppressPerson(wh, 'quiet-please', 'asked by phone', ACTOR);
        await refresh(wh, at(2 * HOUR), [BUYERS]);
        await runActivation(wh, pb, { asOf: at(3 * HOUR) });
        assert.equal(receiver.ids.size, 1);
        assert.match([...receiver.ids][0]!, /^thanks:fine:enter:/);
        const [row] = await wh.query<{ status: string; reason: string }>(
          `SELECT status, reason FROM deliveries WHERE person_id = 'quiet-please'`,
        );
        assert.deepEqual(row, { status: 'blocked', reason: 'suppressed: asked by phone' });
        const d = await decide(wh, pb, 'quiet-please', { asOf: at(3 * HOUR) });
        assert.equal(d.play, null);
        assert.match(d.candidates[0]!.reasons.join(';'), /suppressed: asked by phone/);
      } finally {
        await wh.close();
        await receiver.close();
      }
    });
  });
}
