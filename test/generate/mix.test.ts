import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MIX, type GeneratorProfile, generateEvents } from '../../src/generate/index.js';

/**
 * The archetype mix. Tolerance (docs/generator.md): each archetype's share of 20,000 people is within ±1.5 percentage
 * points of its configured weight (the standard error of a 25% share of 20,000 is 0.3 points, so ±1.5 is 5 of them).
 * SaaS archetypes belong to accounts, so the SaaS mix is counted over accounts.
 */

function shares(counts: Map<string, number>): Map<string, number> {
  const total = [...counts.values()].reduce((s, n) => s + n, 0);
  return new Map([...counts].map(([k, n]) => [k, n / total]));
}

function archetypeCounts(
  profile: GeneratorProfile,
  people: number,
  archetypeMix?: Record<string, number>,
): Map<string, number> {
  const counts = new Map<string, number>();
  // One day is enough: the archetype is drawn before anything else about a person.
  for (const unit of generateEvents({ people, days: 1, seed: 2024, profile, archetypeMix })) {
    const archetype = unit.truth[0]!.archetype;
    // Ecommerce: one person per unit. SaaS: one account per unit.
    counts.set(archetype, (counts.get(archetype) ?? 0) + 1);
  }
  return counts;
}

describe('archetype mix', () => {
  it('matches the default ecommerce mix within ±1.5 points over 20,000 people', () => {
    const observed = shares(archetypeCounts('ecommerce', 20_000));
    const mix = DEFAULT_MIX.ecommerce;
    const total = Object.values(mix).reduce((s, w) => s + w, 0);
    for (const [archetype, weight] of Object.entries(mix)) {
      const share = observed.get(archetype) ?? 0;
      assert.ok(Math.abs(share - weight / total) < 0.015, `${archetype}: ${share} vs ${weight / total}`);
    }
    assert.equal(observed.size, Object.keys(mix).length);
  });

  it('matches the default saas mix over accounts within ±3 points', () => {
    const counts = archetypeCounts('saas', 12_000);
    const accounts = [...counts.values()].reduce((s, n) => s + n, 0);
    assert.ok(accounts > 2500, `${accounts} accounts`);
    const observed = shares(counts);
    for (const [archetype, weight] of Object.entries(DEFAULT_MIX.saas)) {
      assert.ok(Math.abs((observed.get(archetype) ?? 0) - weight) < 0.03, archetype);
    }
  });

  it('applies an override merged over the defaults and normalized', () => {
    const mix = {
      loyal_champion: 3,
      window_shopper: 1,
      bargain_hunter: 0,
      cart_abandoner: 0,
      churning: 0,
      new_customer: 0,
    };
    const observed = shares(archetypeCounts('ecommerce', 8000, mix));
    assert.deepEqual([...observed.keys()].sort(), ['loyal_champion', 'window_shopper']);
    assert.ok(Math.abs(observed.get('loyal_champion')! - 0.75) < 0.02);

    // Only the named archetype changes; the others keep their default weights.
    const doubled = shares(archetypeCounts('ecommerce', 20_000, { churning: 0.3 }));
    assert.ok(Math.abs(doubled.get('churning')! - 0.3 / 1.15) < 0.015);
  });

  it('can generate a single-archetype saas population', () => {
    const counts = archetypeCounts('saas', 500, {
      healthy: 0,
      power_user: 0,
      nearing_limit: 1,
      churning_account: 0,
      trial_never_activates: 0,
    });
    assert.deepEqual([...counts.keys()], ['nearing_limit']);
  });
});
