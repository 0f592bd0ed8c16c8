import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openWarehouse } from '../../../src/engine/open.js';
import type { Warehouse } from '../../../src/engine/warehouse.js';
import { SegflowError } from '../../../src/errors.js';
import { createRng } from '../../../src/generate/random.js';
import { fitPropensityFromFile, scorePropensityFile } from '../../../src/model/propensity/file-propensity.js';
import { parseCsv } from '../../../src/model/propensity/read-table.js';
import { FIXTURES, tempDir } from '../../helpers/temp.js';

const TELCO = join(FIXTURES, 'telco/telco-customer-churn.csv');

type Encoded = { column: string; encoding: string }[];
const columnsOf = (diagnostics: Record<string, unknown>) =>
  (diagnostics.input as { columns: Encoded }).columns;

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SegflowError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, message);
    assert.ok(e.hint, 'says how to fix it');
    return true;
  });
}

describe('propensity on tables as people have them', () => {
  const dir = tempDir();
  let wh: Warehouse;
  before(async () => {
    wh = await openWarehouse({ path: ':memory:' });
  });
  after(() => wh.close());

  test('telco churn: categories one-hot, Yes/No as 0/1, blank TotalCharges missing with an indicator, the id dropped', async () => {
    const fit = await fitPropensityFromFile(wh, { path: TELCO, label: 'Churn', model: 'logistic' });
    const enc = new Map(columnsOf(fit.fit.diagnostics).map((c) => [c.column, c.encoding]));
    assert.match(enc.get('Contract')!, /categorical, 3 levels one-hot/);
    assert.match(enc.get('PaymentMethod')!, /categorical, 4 levels one-hot/);
    assert.match(enc.get('Partner')!, /1\/0/);
    assert.match(enc.get('TotalCharges')!, /^numeric; \d+ missing → median [\d.]+ \+ indicator$/);
    assert.match(enc.get('customerID')!, /dropped: .*identifier/);
    const inputs = fit.model.columns;
    assert.ok(inputs.includes('Contract=Month-to-month'));
    assert.ok(inputs.includes('TotalCharges (missing)'));
    // The 11 blank TotalCharges rows are all counted, over training and test rows.
    const missingInTrain = Number(/(\d+) missing/.exec(enc.get('TotalCharges')!)![1]);
    assert.ok(missingInTrain > 0 && missingInTrain <= 11);
    assert.ok(fit.backtest.auc > 0.8, `AUC ${fit.backtest.auc}`);
    assert.equal(fit.fit.options.idColumn, null, 'no person_id column: rows are numbered');
  });

  test('CSV dialects: mixed line endings and no final newline read fine; ragged rows and open quotes are short errors', async () => {
    const rows = ['id;x;kind;y'];
    const rng = createRng(1, 0);
    for (let i = 0; i < 400; i++) {
      const x = rng.normal();
      rows.push(
        `${i};${x};${['"a;b"', 'c', 'd'][i % 3]};${rng.chance(1 / (1 + Math.exp(-2 * x))) ? 'yes' : 'no'}`,
      );
    }
    // CRLF, then LF, then CR line ends, and the last line without any.
    const text = `${rows.slice(0, 100).join('\r\n')}\r\n${rows.slice(100, 300).join('\n')}\n${rows.slice(300).join('\r')}`;
    const table = parseCsv(text, 'mixed.csv');
    assert.equal(table.rows, 400);
    assert.deepEqual(table.names, ['id', 'x', 'kind', 'y']);
    assert.equal(table.columns[2]![0], 'a;b', 'a quoted field keeps its delimiter');
    const file = join(dir, 'mixed.csv');
    writeFileSync(file, text);
    const fit = await fitPropensityFromFile(wh, {
      path: file,
      label: 'y',
      idColumn: 'id',
      model: 'logistic',
    });
    assert.equal(fit.trainRows + fit.backtest.people, 400);

    assert.throws(
      () => parseCsv('a,b\n1,2\n3\n', 'ragged.csv'),
      /line 3 of 'ragged.csv' has 1 fields, the header has 2/,
    );
    assert.throws(
      () => parseCsv('a,b\n1,"2\n', 'open.csv'),
      /line 2 of 'open.csv' opens a quote that is never closed/,
    );
    writeFileSync(join(dir, 'ragged.csv'), 'a,b,y\n1,2,1\n3,0\n');
    await rejects(
      fitPropensityFromFile(wh, { path: join(dir, 'ragged.csv'), label: 'y' }),
      'MODEL_DATA_INVALID',
      /line 3 .* has 2 fields, the header has 3/,
    );
  });

  test('rare levels are pooled, and a level never seen in training is scored through (other)', async () => {
    const rng = createRng(2, 0);
    const lines = ['person_id,plan,score,label'];
    for (let i = 0; i < 1500; i++) {
      const plan = i % 300 === 0 ? 'legacy' : ['free', 'pro', 'team'][i % 3]!;
      const z = (plan === 'pro' ? 1.5 : plan === 'team' ? -1 : 0) + rng.normal();
      lines.push(`u${i},${plan},${rng.normal()},${rng.chance(1 / (1 + Math.exp(-z))) ? 1 : 0}`);
    }
    const file = join(dir, 'plans.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const fit = await fitPropensityFromFile(wh, { path: file, label: 'label', model: 'logistic' });
    const plan = columnsOf(fit.fit.diagnostics).find((c) => c.column === 'plan')!;
    assert.match(plan.encoding, /3 levels one-hot, 1 rare levels pooled as \(other\)/);
    assert.ok(fit.model.columns.includes('plan=(other)'));
    assert.equal(fit.fit.options.idColumn, 'person_id', 'person_id is the id when present');

    const fresh = join(dir, 'fresh.csv');
    writeFileSync(fresh, 'person_id,plan,score\nn1,enterprise,0\nn2,legacy,0\nn3,pro,0\n');
    const out = join(dir, 'fresh-scores.csv');
    await scorePropensityFile(wh, { path: fresh, out });
    const scored = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    assert.deepEqual(
      scored.map((r) => r[0]),
      ['n1', 'n2', 'n3'],
    );
    // An unseen level scores like the pooled rare one.
    assert.equal(scored[0]![1], scored[1]![1]);
    assert.notEqual(scored[0]![1], scored[2]![1]);
  });

  test('bad input: one class, no label column, no usable feature, an all-missing column', async () => {
    const write = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const body = (label: (i: number) => string, extra = (_i: number) => '') =>
      Array.from({ length: 200 }, (_, i) => `${i},${(i * 7) % 13}${extra(i)},${label(i)}`).join('\n');
    await rejects(
      fitPropensityFromFile(wh, { path: write('one.csv', `id,x,y\n${body(() => 'No')}\n`), label: 'y' }),
      'MODEL_NO_DATA',
      /every training row has label 0/,
    );
    await rejects(
      fitPropensityFromFile(wh, {
        path: write('nolabel.csv', `id,x,y\n${body((i) => String(i % 2))}\n`),
        label: 'churned',
      }),
      'MODEL_DATA_INVALID',
      /has no column 'churned'/,
    );
    await rejects(
      fitPropensityFromFile(wh, {
        path: write(
          'nofeat.csv',
          `id,x,y\n${Array.from({ length: 200 }, (_, i) => `${i}, ,${i % 2}`).join('\n')}\n`,
        ),
        label: 'y',
        idColumn: 'id',
      }),
      'MODEL_DATA_INVALID',
      /no usable feature column \(x: every value is missing\)/,
    );
    const fit = await fitPropensityFromFile(wh, {
      path: write(
        'allmissing.csv',
        `id,x,empty,y\n${body(
          (i) => String(i % 2),
          () => ',NA',
        )}\n`,
      ),
      label: 'y',
      idColumn: 'id',
    });
    assert.deepEqual(
      columnsOf(fit.fit.diagnostics).find((c) => c.column === 'empty'),
      { column: 'empty', encoding: 'dropped: every value is missing' },
    );
    await rejects(
      fitPropensityFromFile(wh, { path: write('text.csv', `id,x,y\n1,2,maybe\n`), label: 'y' }),
      'MODEL_DATA_INVALID',
      /label y is "maybe", not 0\/1/,
    );
  });
});
