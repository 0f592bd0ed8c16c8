import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { convertNdjsonToParquet } from '../../src/generate/to-parquet.js';
import { importFile } from '../../src/instrument/import/import-file.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segflow-to-parquet-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A JSON object without its null-valued keys: a Parquet struct column has every key any row had. */
function withoutNulls(json: string | null): unknown {
  if (json === null) return null;
  const value = JSON.parse(json) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

describe('generate --out x.parquet', () => {
  it('converts a shop whose events gain a property key late in the file, and imports as the NDJSON does', async () => {
    // 3,000 people over a day: the first resolved ticket (a `resolution_hours` key no earlier ticket has) comes after
    // the reader's default sample of lines, which made the conversion fail.
    const ndjson = join(dir, 'shop.ndjson');
    const generated = await writeGeneratedFiles({
      people: 3000,
      days: 1,
      seed: 42,
      profile: 'ecommerce',
      out: ndjson,
    });
    const copy = join(dir, 'copy.ndjson');
    copyFileSync(ndjson, copy);
    const parquet = join(dir, 'shop.parquet');
    await convertNdjsonToParquet(copy, parquet);

    const fromNdjson = await openWarehouse({ path: ':memory:' });
    const fromParquet = await openWarehouse({ path: ':memory:' });
    try {
      const a = await importFile(fromNdjson, { path: ndjson, rejectsPath: null });
      const b = await importFile(fromParquet, { path: parquet, rejectsPath: null });
      assert.equal(a.inserted, generated.events);
      assert.deepEqual([b.inserted, b.rejected], [a.inserted, 0]);
      const q = `SELECT message_id, type, event, name, user_id, anonymous_id, ts, revenue, person_id, CAST(properties AS VARCHAR) AS p
        FROM events ORDER BY message_id`;
      const [rowsA, rowsB] = [
        await fromNdjson.query<Record<string, unknown>>(q),
        await fromParquet.query<Record<string, unknown>>(q),
      ];
      assert.equal(rowsB.length, rowsA.length);
      const late = rowsA.filter((r) => String(r.p).includes('"resolution_hours"'));
      assert.ok(late.length > 0, 'the shop has a resolved ticket');
      for (let i = 0; i < rowsA.length; i++) {
        const { p: pa, ...ra } = rowsA[i]!;
        const { p: pb, ...rb } = rowsB[i]!;
        assert.deepEqual(rb, ra);
        assert.deepEqual(withoutNulls(pb as string | null), withoutNulls(pa as string | null));
      }
    } finally {
      await fromNdjson.close();
      await fromParquet.close();
    }
  });
});
