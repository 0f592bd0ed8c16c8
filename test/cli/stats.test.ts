import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

/** The contract: with --json exactly one JSON document on stdout. */
function oneJson<T>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

const round = (x: number) => Number(x.toFixed(5));

describe('segflow stats calculators (no database)', () => {
  // Run where no database exists, to show none is needed.
  const cwd = tempDir();

  test('lift of means and of conversions reproduces the published vectors', () => {
    const means = segflow(
      [
        'stats',
        'lift',
        '--control',
        '3407,1396.87,52377.9767',
        '--treatment',
        '3461,2422.7,134698.29',
        '--json',
      ],
      { cwd },
    );
    assert.equal(means.status, 0, means.stderr);
    const m = oneJson<{
      kind: string;
      absolute: { estimate: number; ci: { lower: number; upper: number }; pValue: number };
      relative: { estimate: number; ci: { lower: number; upper: number }; pValue: number };
    }>(means.stdout);
    assert.equal(m.kind, 'mean');
    assert.deepEqual(
      [
        round(m.relative.estimate),
        round(m.relative.ci.lower),
        round(m.relative.ci.upper),
        round(m.relative.pValue),
      ],
      [0.70732, -0.03526, 1.44989, 0.06191],
    );
    assert.deepEqual(
      [round(m.absolute.ci.lower), round(m.absolute.ci.upper), round(m.absolute.pValue)],
      [0.04538, 0.53462, 0.02016],
    );

    // --json before the other flags is read too (the parent `stats` command also has a --json flag).
    const conversions = segflow(['stats', 'lift', '--json', '--control', '14/28', '--treatment', '16/30'], {
      cwd,
    });
    assert.equal(conversions.status, 0, conversions.stderr);
    const p = oneJson<{ kind: string; relative: { ci: { lower: number; upper: number }; pValue: number } }>(
      conversions.stdout,
    );
    assert.equal(p.kind, 'proportion');
    assert.deepEqual(
      [round(p.relative.ci.lower), round(p.relative.ci.upper), round(p.relative.pValue)],
      [-0.47767, 0.61101, 0.80707],
    );
  });

  test('the text report states each estimate, its interval, p-value and verdict', () => {
    const r = segflow(['stats', 'lift', '--control', '14/28', '--treatment', '16/30'], { cwd });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /relative lift\s+\+6\.67 %\s+95 % CI \[−47\.77 %, \+61\.10 %\]\s+p = 0\.8071\s+not significant/,
    );
  });

  test('CUPED with pre-period covariates', () => {
    const r = segflow(
      [
        'stats',
        'lift',
        '--control',
        '3000,1396.87,52377.9767',
        '--treatment',
        '3461,2422.7,134698.29',
        '--control-pre',
        '16.87,527.9767,1',
        '--treatment-pre',
        '22.7,1348.29,1',
        '--json',
      ],
      { cwd },
    );
    assert.equal(r.status, 0, r.stderr);
    const c = oneJson<{ kind: string; relative: { estimate: number; standardError: number } }>(r.stdout);
    assert.equal(c.kind, 'cuped');
    // GrowthBook test_sequential_test_runs_ra: uplift mean 0.50338, stddev 0.33341.
    assert.deepEqual([round(c.relative.estimate), round(c.relative.standardError)], [0.50338, 0.33341]);
  });

  test('srm: [1000, 1100] at 50/50 is not flagged; a 45/55 split of 10,000 is', () => {
    const ok = segflow(['stats', 'srm', '--counts', '1000,1100', '--weights', '0.5,0.5', '--json'], { cwd });
    assert.equal(ok.status, 0, ok.stderr);
    const a = oneJson<{ chiSquare: number; pValue: number; flagged: boolean }>(ok.stdout);
    assert.deepEqual([a.chiSquare.toFixed(3), a.pValue.toFixed(4), a.flagged], ['4.762', '0.0291', false]);
    const bad = segflow(['stats', 'srm', '--counts', '4500,5500'], { cwd });
    assert.equal(bad.status, 0, bad.stderr);
    assert.match(bad.stdout, /SAMPLE RATIO MISMATCH/);
  });

  test('power: MDE from people, people from a lift, power from both', () => {
    const base = ['stats', 'power', '--baseline-rate', '0.04', '--holdout', '0.1', '--json'];
    const mde = oneJson<{ mode: string; absolute: number; people: number }>(
      segflow([...base, '--people', '50000'], { cwd }).stdout,
    );
    assert.equal(mde.mode, 'mde');
    const size = oneJson<{ mode: string; people: number }>(
      segflow([...base, '--absolute-lift', String(mde.absolute)], { cwd }).stdout,
    );
    assert.equal(size.mode, 'sample-size');
    assert.ok(Math.abs(size.people - 50_000) <= 2, `${size.people}`);
    const power = oneJson<{ mode: string; power: number }>(
      segflow([...base, '--people', '50000', '--absolute-lift', String(mde.absolute)], { cwd }).stdout,
    );
    assert.equal(power.mode, 'power');
    assert.ok(Math.abs(power.power - 0.8) < 1e-6);
  });

  test('adjust: Holm and Benjamini-Hochberg', () => {
    const r = segflow(
      ['stats', 'adjust', '--p-values', '0.01,0.04,0.03,0.005', '--method', 'holm', '--json'],
      { cwd },
    );
    assert.equal(r.status, 0, r.stderr);
    const h = oneJson<{ adjusted: number[] }>(r.stdout);
    assert.deepEqual(
      h.adjusted.map((x) => Number(x.toFixed(10))),
      [0.03, 0.06, 0.06, 0.02],
    );
  });

  test('bad input fails with a code, a message and a hint that says how to fix it', () => {
    const negative = segflow(
      ['stats', 'lift', '--control', '3407,1396.87,500', '--treatment', '3461,2422.7,134698.29', '--json'],
      { cwd },
    );
    assert.equal(negative.status, 1);
    const e = oneJson<{ error: { code: string; message: string; hint: string } }>(negative.stdout).error;
    assert.equal(e.code, 'STATS_INPUT_INVALID');
    assert.match(e.message, /negative/);
    assert.match(e.hint, /SUM\(x \* x\)/);

    const malformed = segflow(['stats', 'lift', '--control', '3407,1396.87', '--treatment', '14/28'], {
      cwd,
    });
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /has 2 numbers/);
    assert.match(malformed.stderr, /hint: pass N,SUM,SUMSQ/);

    const noKpi = segflow(['stats', 'power', '--holdout', '0.1', '--people', '1000'], { cwd });
    assert.equal(noKpi.status, 2);
    assert.match(noKpi.stderr, /--baseline-rate/);
  });
});
