import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SegflowError } from '../../src/errors.js';
import {
  type ArmPlan,
  armAssigner,
  armRanges,
  assignArm,
  fnv1a32,
  HOLDOUT_ARM,
  hashBucket,
} from '../../src/shared/arm-assignment.js';

/** FNV-1a written independently: BigInt arithmetic over the UTF-16 code units of the string. */
function fnvReference(text: string): number {
  let h = 0x811c9dc5n;
  const bytes = Buffer.from(text, 'utf16le');
  for (let i = 0; i < bytes.length; i += 2) {
    h ^= BigInt(bytes.readUInt16LE(i));
    h = (h * 16777619n) % 2n ** 32n;
  }
  return Number(h);
}

describe('GrowthBook v2 hash', () => {
  it("reproduces GrowthBook's published hash vectors (version 2)", () => {
    // growthbook/growthbook packages/sdk-js/test/cases.json, "hash": [seed, value, version, expected].
    const vectors: [string, string, number][] = [
      ['seed', 'a', 0.0505],
      ['seed', 'b', 0.2696],
      ['foo', 'ab', 0.2575],
      ['foo', 'def', 0.2019],
      ['89123klj', '8952klfjas09ujkasdf', 0.124],
      ['90850943850283058242805', '123', 0.7516],
      ['()**(%$##$%#$#', '___)((*":&', 0.0128],
    ];
    for (const [seed, value, expected] of vectors)
      assert.equal(hashBucket(seed, value), expected, `${seed}|${value}`);
  });

  it('is 32-bit FNV-1a over UTF-16 code units', () => {
    // FNV-1a reference values (Landon Curt Noll's test suite): "" → 0x811c9dc5, "a" → 0xe40c292c,
    // "foobar" → 0xbf9cf968.
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
    // Non-ASCII ids hash their UTF-16 code units (an emoji is two), as JavaScript's charCodeAt gives them.
    for (const text of ['play-1é-person', 'winbackuser_😀_42', 'ÄÖÜ-ß', '用户-7']) {
      assert.equal(fnv1a32(text), fnvReference(text), text);
    }
    // Values computed with a separate Python implementation over UTF-16-LE code units.
    assert.equal(hashBucket('play-1', 'é-person'), 0.4963);
    assert.equal(hashBucket('winback', 'user_😀_42'), 0.3134);
  });
});

describe('arm ranges', () => {
  it("match GrowthBook's getBucketRange for full coverage, the first weight being the holdout", () => {
    // growthbook/growthbook packages/sdk-js/test/cases.json, "getBucketRange" cases with coverage 1 and valid weights.
    const cases: [number[], [number, number][]][] = [
      [
        [0.5, 0.5],
        [
          [0, 0.5],
          [0.5, 1],
        ],
      ],
      [
        [0.25, 0.25, 0.25, 0.25],
        [
          [0, 0.25],
          [0.25, 0.5],
          [0.5, 0.75],
          [0.75, 1],
        ],
      ],
      [
        [0.4, 0.6],
        [
          [0, 0.4],
          [0.4, 1],
        ],
      ],
      [
        [0.2, 0.3, 0.5],
        [
          [0, 0.2],
          [0.2, 0.5],
          [0.5, 1],
        ],
      ],
    ];
    for (const [weights, expected] of cases) {
      const [holdout, ...variants] = weights;
      const ranges = armRanges({
        seed: 's',
        holdoutShare: holdout!,
        variants: variants.map((weight, i) => ({ name: `v${i}`, weight })),
      });
      assert.equal(ranges[0]!.arm, HOLDOUT_ARM);
      ranges.forEach((r, i) => {
        assert.ok(Math.abs(r.start - expected[i]![0]) < 1e-12 && Math.abs(r.end - expected[i]![1]) < 1e-12);
      });
    }
  });

  it('split the treated share among variants by relative weight', () => {
    const ranges = armRanges({
      seed: 's',
      holdoutShare: 0.1,
      variants: [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 3 },
      ],
    });
    assert.deepEqual(
      ranges.map((r) => [r.arm, Number(r.share.toFixed(12))]),
      [
        ['holdout', 0.1],
        ['a', 0.225],
        ['b', 0.675],
      ],
    );
    assert.equal(ranges.at(-1)!.end, 1);
  });
});

describe('assignment', () => {
  const plan: ArmPlan = {
    seed: 'winback-2026',
    holdoutShare: 0.1,
    variants: [
      { name: 'email', weight: 1 },
      { name: 'sms', weight: 3 },
    ],
  };

  it('is a pure function of (seed, id, plan): the bucket decides the arm', () => {
    const assign = armAssigner(plan);
    for (let i = 0; i < 1000; i++) {
      const id = `user-${i}`;
      const a = assignArm(plan, id);
      assert.deepEqual(assignArm(plan, id), a);
      assert.equal(assign(id), a.arm);
      assert.equal(a.bucket, hashBucket(plan.seed, id));
      const expected = a.bucket < 0.1 ? 'holdout' : a.bucket < 0.325 ? 'email' : 'sms';
      assert.equal(a.arm, expected, id);
    }
  });

  it('honours the planned shares over many ids', () => {
    const assign = armAssigner(plan);
    const counts = new Map<string, number>();
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const arm = assign(`person-${i}`);
      counts.set(arm, (counts.get(arm) ?? 0) + 1);
    }
    // Binomial standard errors are at most 0.11 %; allow 0.5 %.
    for (const [arm, share] of [
      ['holdout', 0.1],
      ['email', 0.225],
      ['sms', 0.675],
    ] as const)
      assert.ok(Math.abs(counts.get(arm)! / n - share) < 0.005, `${arm}: ${counts.get(arm)! / n}`);
  });

  it('re-randomises independently under a new seed', () => {
    const a = armAssigner({ seed: 'play-a', holdoutShare: 0.5 });
    const b = armAssigner({ seed: 'play-b', holdoutShare: 0.5 });
    let both = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) if (a(`p${i}`) === HOLDOUT_ARM && b(`p${i}`) === HOLDOUT_ARM) both++;
    // Independent halves overlap on a quarter of people.
    assert.ok(Math.abs(both / n - 0.25) < 0.01, `${both / n}`);
  });

  it('refuses plans that cannot be assigned, saying how to fix them', () => {
    const bad: [ArmPlan, RegExp][] = [
      [{ seed: '', holdoutShare: 0.1 }, /seed/],
      [{ seed: 's', holdoutShare: 1 }, /holdout share/],
      [{ seed: 's', holdoutShare: -0.1 }, /holdout share/],
      [{ seed: 's', holdoutShare: 0.1, variants: [] }, /at least one variant/],
      [{ seed: 's', holdoutShare: 0.1, variants: [{ name: 'holdout', weight: 1 }] }, /not 'holdout'/],
      [
        {
          seed: 's',
          holdoutShare: 0.1,
          variants: [
            { name: 'a', weight: 1 },
            { name: 'a', weight: 1 },
          ],
        },
        /twice/,
      ],
      [{ seed: 's', holdoutShare: 0.1, variants: [{ name: 'a', weight: 0 }] }, /positive weight/],
    ];
    for (const [p, message] of bad)
      assert.throws(
        () => armRanges(p),
        (e: SegflowError) => e.code === 'ARMS_INVALID' && message.test(e.message) && Boolean(e.hint),
      );
  });
});
