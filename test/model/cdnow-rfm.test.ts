import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { CDNOW_MASTER } from '../helpers/temp.js';

/**
 * RFM on the full CDNOW log as of 1998-07-01, against an independent computation written here: the raw fixture file
 * parsed in TypeScript (no engine, no import pipeline), recency in days, frequency as rows, monetary as the sum of
 * dollars, and quintile scores by the documented rule — among purchasers, score = floor(5 · (rank − 1) / n) + 1
 * where rank is 1 + the number of customers strictly worse (more days since the last purchase for R, fewer purchases
 * for F, less money to the cent for M), so equal values share a score.
 */
const AS_OF = Date.UTC(1998, 6, 1);
const DAY = 86_400_000;

interface Customer {
  id: string;
  last: number;
  count: number;
  cents: number;
  dollars: number;
}

function independentRfm(): Map<string, Customer & { recency: number; r: number; f: number; m: number }> {
  const customers = new Map<string, Customer>();
  for (const line of readFileSync(CDNOW_MASTER, 'utf8').split('\n').slice(1)) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 4) continue;
    const [id, date, , dollars] = parts as [string, string, string, string];
    const ts = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8)));
    const c = customers.get(id) ?? { id, last: 0, count: 0, cents: 0, dollars: 0 };
    c.last = Math.max(c.last, ts);
    c.count++;
    c.dollars += Number(dollars);
    customers.set(id, c);
  }
  for (const c of customers.values()) c.cents = Math.round(c.dollars * 100);
  const list = [...customers.values()];
  const n = list.length;
  const scoreBy = (worse: (a: Customer, b: Customer) => boolean) => {
    // rank = 1 + #customers strictly worse; counting by sorting keeps it O(n log n).
    const sorted = [...list].sort((a, b) => (worse(a, b) ? -1 : worse(b, a) ? 1 : 0));
    const score = new Map<string, number>();
    let rank = 1;
    for (let i = 0; i < sorted.length; i++) {
      if (i > 0 && worse(sorted[i - 1]!, sorted[i]!)) rank = i + 1;
      score.set(sorted[i]!.id, Math.floor((5 * (rank - 1)) / n) + 1);
    }
    return score;
  };
  const r = scoreBy((a, b) => a.last < b.last);
  const f = scoreBy((a, b) => a.count < b.count);
  const m = scoreBy((a, b) => a.cents < b.cents);
  return new Map(
    list.map((c) => [
      c.id,
      { ...c, recency: (AS_OF - c.last) / DAY, r: r.get(c.id)!, f: f.get(c.id)!, m: m.get(c.id)! },
    ]),
  );
}

test('CDNOW as of 1998-07-01: recency, frequency, monetary and quintile scores equal an independent computation', async () => {
  const expected = independentRfm();
  assert.equal(expected.size, 23_570);
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    await importFile(wh, { path: CDNOW_MASTER, preset: 'cdnow', rejectsPath: null });
    await refreshFeatures(wh, modelConfig(), { asOf: new Date(AS_OF) });
    const rows = await wh.query<{
      person_id: string;
      rfm_recency_days: number;
      rfm_frequency: number;
      rfm_monetary_total: number;
      rfm_r: number;
      rfm_f: number;
      rfm_m: number;
      rfm_group: string;
    }>(
      'SELECT person_id, rfm_recency_days, rfm_frequency, rfm_monetary_total, rfm_r, rfm_f, rfm_m, rfm_group FROM features',
    );
    assert.equal(rows.length, expected.size);
    let mismatches = 0;
    for (const row of rows) {
      const e = expected.get(row.person_id)!;
      const same =
        row.rfm_recency_days === e.recency &&
        Number(row.rfm_frequency) === e.count &&
        Math.abs(row.rfm_monetary_total - e.dollars) < 1e-6 &&
        row.rfm_r === e.r &&
        row.rfm_f === e.f &&
        row.rfm_m === e.m;
      if (!same && mismatches++ < 5) {
        assert.fail(`customer ${row.person_id}: got ${JSON.stringify(row)}, expected ${JSON.stringify(e)}`);
      }
    }
    assert.equal(mismatches, 0);
    const groups = await wh.query<{ rfm_group: string; n: number }>(
      'SELECT rfm_group, count(*) AS n FROM features GROUP BY 1 ORDER BY 2 DESC',
    );
    // Reported in the closing note; every customer has a group (all of them bought).
    assert.equal(
      groups.reduce((s, g) => s + Number(g.n), 0),
      23_570,
    );
    assert.ok(groups.every((g) => g.rfm_group !== null));
    if (process.env.SEGFLOW_PRINT) console.log(JSON.stringify(groups));
  } finally {
    await wh.close();
  }
});
