import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { type GroundTruth, writeGeneratedFiles } from '../../src/generate/index.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { ingestJsonTexts } from '../../src/instrument/ingest-messages.js';
import { tempDir } from '../helpers/temp.js';

/**
 * End to end on realistic data: the generator knows who each simulated person is (anonymous browsing, second
 * devices, aliases, B2B accounts); after import, segflow's identity graph must find exactly those people.
 */
describe('identity resolution against the generator ground truth', () => {
  for (const profile of ['ecommerce', 'saas'] as const) {
    test(`${profile}: every identifier resolves to its true person, imported whole or in shuffled batches`, async () => {
      const dir = tempDir();
      const out = join(dir, 'events.ndjson');
      const truthOut = join(dir, 'truth.ndjson');
      await writeGeneratedFiles({ people: 400, days: 60, seed: 11, profile, out, truthOut });
      const truth = readFileSync(truthOut, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as GroundTruth);
      const expected = new Map<string, string>();
      for (const t of truth) {
        for (const id of [...t.anonymousIds, ...(t.userId ? [t.userId] : [])]) expected.set(id, t.personKey);
      }

      const whole = await openWarehouse({ path: ':memory:' });
      const s = await importFile(whole, { path: out, rejectsPath: null });
      assert.equal(s.rejected, 0);

      // The same events in a different order and in small batches must give the same people.
      const lines = readFileSync(out, 'utf8').trim().split('\n');
      let seed = 5;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      const shuffled = lines
        .map((l) => [rand(), l] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, l]) => l);
      const batched = await openWarehouse({ path: ':memory:' });
      for (let i = 0; i < shuffled.length; i += 5000) {
        await ingestJsonTexts(batched, shuffled.slice(i, i + 5000), { source: 'test' });
      }

      for (const wh of [whole, batched]) {
        const rows = await wh.query<{ identifier: string; person_id: string }>(
          'SELECT identifier, person_id FROM identities',
        );
        const got = new Map(rows.map((r) => [r.identifier, r.person_id]));
        assert.equal(got.size, expected.size, 'every identifier of the truth is known, and no others');
        let wrong = 0;
        for (const [id, person] of expected) if (got.get(id) !== person) wrong++;
        assert.equal(wrong, 0, `${wrong} identifiers resolved to the wrong person`);
        const [p] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM persons');
        assert.equal(p!.n, truth.length);
      }
      await whole.close();
      await batched.close();
    });
  }
});
