import { createRng } from '../../shared/seeded-random.js';
import type { BgNbdParams } from './bgnbd.js';
import type { RfmSummaries } from './summaries-types.js';
import type { TimeUnit } from './time-unit.js';

/**
 * Purchase histories drawn from the BG/NBD generative process itself (Fader, Hardie & Lee 2005, section 2): each
 * person has λ ~ Gamma(r, 1/α) and p ~ Beta(a, b); from the first purchase at 0 they buy at Poisson rate λ and drop
 * out after each repeat purchase with probability p. Used to check that fitting recovers known parameters and to
 * benchmark fitting on millions of people without a database.
 *
 * Ages T are uniform on (0, maxAge]; times are floored to `resolution` (e.g. 1/7 week = whole days) so that people
 * share histories and the output is grouped, as summaries from SQL are.
 */
export function simulateBgNbd(args: {
  params: BgNbdParams;
  people: number;
  maxAge: number;
  timeUnit: TimeUnit;
  resolution?: number;
  seed?: number;
}): RfmSummaries {
  const { params, people, maxAge } = args;
  const { r, alpha, a, b } = params;
  const res = args.resolution ?? 0;
  const floor = (t: number) => (res > 0 ? Math.floor(t / res) * res : t);
  const rng = createRng(args.seed ?? 1, 0, 0x62676e62);
  const groups = new Map<string, number>();
  for (let i = 0; i < people; i++) {
    const T = res > 0 ? Math.ceil(rng.float() * (maxAge / res)) * res : maxAge * (1 - rng.float());
    const lambda = rng.gamma(r, 1 / alpha);
    const ga = rng.gamma(a, 1);
    const p = ga / (ga + rng.gamma(b, 1));
    let t = 0;
    let x = 0;
    let tx = 0;
    for (;;) {
      t += rng.exponential(lambda);
      if (!(t <= T)) break;
      x++;
      tx = t;
      if (rng.float() < p) break;
    }
    const key = `${x}|${floor(tx)}|${T}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const n = groups.size;
  const out: RfmSummaries = {
    timeUnit: args.timeUnit,
    x: new Float64Array(n),
    tx: new Float64Array(n),
    T: new Float64Array(n),
    weight: new Float64Array(n),
  };
  let i = 0;
  for (const [key, w] of groups) {
    const [x, tx, T] = key.split('|').map(Number);
    out.x[i] = x!;
    out.tx[i] = tx!;
    out.T[i] = T!;
    out.weight[i] = w;
    i++;
  }
  return out;
}
