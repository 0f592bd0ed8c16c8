import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sig } from '../helpers/cdnow.js';
import { segflow } from '../helpers/cli.js';
import { CDNOW_SAMPLE, tempDir } from '../helpers/temp.js';

describe('segflow models', () => {
  const dir = tempDir();
  const db = join(dir, 'models.duckdb');
  const run = (args: string[]) => segflow(['--db', db, ...args], { cwd: dir });

  test('fit and report bgnbd and gammagamma on CDNOW, then score', () => {
    assert.equal(run(['import', CDNOW_SAMPLE, '--preset', 'cdnow', '--json']).status, 0);
    const window = ['--from', '1997-01-01', '--to', '1997-09-30', '--unit', 'weeks'];
    const fit = run(['models', 'fit', 'bgnbd', ...window, '--holdout-to', '1998-06-30', '--json']);
    assert.equal(fit.status, 0, fit.stderr);
    const bg = JSON.parse(fit.stdout) as { id: string; params: Record<string, number>; timeUnit: string };
    // Published CDNOW estimates (Fader, Hardie & Lee 2005): r 0.243, α 4.414, a 0.793, b 2.426 (weeks).
    assert.deepEqual(
      Object.values(bg.params).map((v) => sig(v)),
      ['0.243', '4.41', '0.793', '2.43'],
    );
    assert.equal(bg.timeUnit, 'weeks');

    const gg = run(['models', 'fit', 'gammagamma', ...window, '--json']);
    assert.equal(gg.status, 0, gg.stderr);

    const report = run(['models', 'report', 'bgnbd', '--json']);
    assert.equal(report.status, 0, report.stderr);
    assert.equal((JSON.parse(report.stdout) as { id: string }).id, bg.id);
    const human = run(['models', 'report', 'bgnbd']);
    assert.match(human.stdout, /log-lik\.\s+-9582\.43/);
    assert.match(human.stdout, /holdout \(39 weeks\)/);

    const score = run([
      'models',
      'score',
      '--as-of',
      '1997-10-01',
      '--horizon',
      '39 weeks',
      '--clv-horizon',
      '12 months',
      '--json',
    ]);
    assert.equal(score.status, 0, score.stderr);
    assert.equal((JSON.parse(score.stdout) as { people: number }).people, 2357);
    const q = run([
      'sql',
      "SELECT round(expected_purchases, 3) AS e FROM predictions WHERE person_id = '00004'",
      '--json',
    ]);
    // Hardie's E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226 (note 004) for the sample's first customer.
    assert.deepEqual((JSON.parse(q.stdout) as { rows: unknown[] }).rows, [{ e: 1.226 }]);
  });

  test('bgnbd and gammagamma fitted in one process are the fits of two processes, both stored', () => {
    const window = [
      '--from',
      '1997-01-01',
      '--to',
      '1997-09-30',
      '--holdout-to',
      '1998-06-30',
      '--unit',
      'weeks',
    ];
    const fitted = (args: string[]) => {
      const r = run(['models', 'fit', ...args, ...window, '--json']);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const alone = { bgnbd: fitted(['bgnbd']), gammagamma: fitted(['gammagamma']) };
    const together = fitted(['bgnbd', 'gammagamma']) as Record<
      'bgnbd' | 'gammagamma',
      Record<string, unknown>
    >;
    assert.deepEqual(Object.keys(together), ['bgnbd', 'gammagamma']);
    // Everything but the fit's own id, time and duration: parameters, people, errors, diagnostics, window.
    const result = ({ id: _id, fittedAt: _at, seconds: _s, ...rest }: Record<string, unknown>) => rest;
    for (const model of ['bgnbd', 'gammagamma'] as const) {
      assert.deepEqual(result(together[model]), result(alone[model]), model);
      assert.notEqual(together[model].id, alone[model].id);
      const report = run(['models', 'report', model, '--json']);
      assert.equal((JSON.parse(report.stdout) as { id: string }).id, together[model].id, 'stored');
    }
    assert.equal(together.bgnbd.people, 2357);

    const mixed = run(['models', 'fit', 'bgnbd', 'clusters', ...window, '--json']);
    assert.equal(mixed.status, 2);
    assert.match(
      (JSON.parse(mixed.stdout) as { error: { hint: string } }).error.hint,
      /only bgnbd and gammagamma/,
    );
  });

  test('clusters from a query; errors say how to fix the input', () => {
    const c = run([
      'models',
      'fit',
      'clusters',
      '--query',
      'SELECT person_id, p_alive, expected_purchases FROM predictions',
      '--column',
      'p_alive:active:dormant',
      '--column',
      'expected_purchases:buying soon:quiet',
      '--k',
      '2..4',
      '--json',
    ]);
    assert.equal(c.status, 0, c.stderr);
    const fit = JSON.parse(c.stdout) as { params: { k: number; clusters: { size: number }[] } };
    assert.equal(
      fit.params.clusters.reduce((s, x) => s + x.size, 0),
      2357,
    );

    const write = run([
      'models',
      'fit',
      'clusters',
      '--query',
      'DELETE FROM events',
      '--column',
      'a:b:c',
      '--json',
    ]);
    assert.equal(write.status, 1);
    assert.equal((JSON.parse(write.stdout) as { error: { code: string } }).error.code, 'SQL_NOT_READ_ONLY');

    const noWindow = run(['models', 'fit', 'bgnbd', '--json']);
    assert.equal(noWindow.status, 2);
    assert.match((JSON.parse(noWindow.stdout) as { error: { hint: string } }).error.hint, /--to/);

    const unit = run(['models', 'fit', 'bgnbd', '--to', '1997-09-30', '--unit', 'fortnights', '--json']);
    assert.equal((JSON.parse(unit.stdout) as { error: { code: string } }).error.code, 'USAGE');

    const unknown = run(['models', 'report', 'pareto', '--json']);
    assert.equal(unknown.status, 2);
  });
});
