import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Row, Warehouse } from '../../src/engine/warehouse.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { featureSource } from '../../src/model/feature-catalog.js';
import { modelConfig } from '../../src/model/model-config.js';
import { summarizePurchases } from '../../src/model/predict/summarize.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { rfmReport } from '../../src/model/reports.js';
import { loadDefinitions } from '../../src/segment/load-definitions.js';
import { refreshSegments } from '../../src/segment/memberships.js';
import { comparable, comparableRows } from '../helpers/comparable-rows.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The loop after import on both engines: a generated shop (and a SaaS log, for accounts and per-feature flags)
 * imported into DuckDB and into ClickHouse (chdb), then features refreshed in full and incrementally five days later,
 * the example segments refreshed in full and incrementally, the RFM report and the BG/NBD and Gamma-Gamma purchase
 * summaries. Every table and result must be equal row for row (`comparableRows`: JSON objects as objects, doubles to
 * 12 digits); refresh times and wall-clock columns are left out.
 */

const DAY = 86_400_000;
const cfg = modelConfig({});
const { definitions } = loadDefinitions(new URL('../../examples/segments', import.meta.url).pathname);

async function loop(wh: Warehouse, path: string): Promise<Record<string, unknown>> {
  await importFile(wh, { path, rejectsPath: null, receivedAt: new Date('2026-03-01T00:00:00Z') });
  const [{ t } = { t: new Date() }] = await wh.query<{ t: Date }>('SELECT max(ts) AS t FROM events');
  const earlier = new Date(t.getTime() - 5 * DAY);
  const features = featureSource(wh.dialect);
  const out: Record<string, unknown> = {};
  const timeless = <T extends { seconds: number }>(r: T) => ({ ...r, seconds: 0 });
  out.featuresFull = timeless(await refreshFeatures(wh, cfg, { asOf: earlier }));
  out.segmentsFull = timeless(await refreshSegments(wh, definitions, { asOf: earlier, features }));
  out.featuresIncremental = timeless(await refreshFeatures(wh, cfg, { asOf: t }));
  out.segmentsIncremental = timeless(await refreshSegments(wh, definitions, { asOf: t, features }));
  const read = async (sql: string) => comparableRows(await wh.query(sql));
  out.features = await read('SELECT * FROM features ORDER BY as_of, person_id');
  out.account_features = await read('SELECT * FROM account_features ORDER BY as_of, group_id');
  out.segment_memberships = await read(
    'SELECT * FROM segment_memberships ORDER BY segment, person_id, entered_at',
  );
  out.segment_changes = await read('SELECT * FROM segment_changes ORDER BY seq');
  out.segment_refreshes = await read(
    'SELECT refresh_id, segment, version, as_of, size, entered, exited FROM segment_refreshes ORDER BY segment, as_of',
  );
  out.rfm = comparable(await rfmReport(wh, { asOf: t }));
  const s = await summarizePurchases(wh, {
    purchases: { events: ['Order Completed'] },
    window: { end: new Date(t.getTime() - 20 * DAY), holdoutEnd: t },
    timeUnit: 'days',
  });
  // Compared in the order they come: every engine hands the groups over sorted by their keys, since the fits sum
  // over them in that order (a diverged fit on a small shop otherwise stops elsewhere on each engine).
  out.summaries = comparable({
    people: s.people,
    repeatCustomers: s.repeatCustomers,
    withoutValue: s.repeatCustomersWithoutValue,
    holdoutLength: s.holdoutLength,
    rfm: Array.from(s.rfm.x, (x, i) => [
      x,
      s.rfm.tx[i]!,
      s.rfm.T[i]!,
      s.rfm.weight[i]!,
      s.holdoutPurchases[i]!,
    ]),
    monetary: Array.from(s.monetary.x, (x, i) => [x, s.monetary.m[i]!, s.monetary.weight[i]!]),
  });
  return out;
}

describe('features, segments and model summaries give the same rows on DuckDB and ClickHouse (chdb)', () => {
  for (const profile of ['ecommerce', 'saas'] as const) {
    test(`${profile}: full and incremental refreshes, the example segments, RFM and purchase summaries`, async () => {
      const dir = tempDir();
      const out = join(dir, 'events.ndjson');
      await writeGeneratedFiles({
        people: 100,
        days: 60,
        seed: 31,
        profile,
        out,
        truthOut: join(dir, 'truth.ndjson'),
      });
      const duck = await openWarehouse({ path: ':memory:' });
      const expected = await loop(duck, out).finally(() => duck.close());
      assert.equal((expected.featuresIncremental as { mode: string }).mode, 'incremental');
      assert.equal((expected.segmentsIncremental as { mode: string }).mode, 'incremental');
      assert.ok((expected.segment_changes as Row[]).length > 50, 'people entered segments');
      const ch = await openWarehouse({ clickhouse: { folder: join(dir, 'chdb'), database: 'segflow' } });
      const actual = await loop(ch, out).finally(() => ch.close());
      for (const name of Object.keys(expected)) assert.deepEqual(actual[name], expected[name], name);
    });
  }
});
