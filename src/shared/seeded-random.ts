/**
 * A small seeded pseudo-random number generator and the distributions the behaviour generator draws from.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state, passes PractRand), seeded
 * by hashing (seed, stream, salt) through splitmix32. Every simulated person (or SaaS account) gets its own stream
 * keyed by its index, so a person's behaviour does not depend on how many people were generated before it, and the
 * whole output is a pure function of the options. `Math.random` and the wall clock are never used.
 */

const TWO_POW_32 = 4294967296;

/** Finalizer of MurmurHash3: a bijective avalanche on 32-bit words. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Two-character lowercase hex for every byte value, so ids are built without per-byte `toString(16)`. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box-Muller yields normals in pairs; the second one is kept for the next call. */
  private spareNormal: number | null = null;

  constructor(seedWords: readonly [number, number, number, number]) {
    this.a = seedWords[0] | 0;
    this.b = seedWords[1] | 0;
    this.c = seedWords[2] | 0;
    this.d = seedWords[3] | 0;
    // The first outputs of sfc32 from a fresh state are weakly mixed; the reference implementation discards them.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution (ample for times in milliseconds over years). */
  float(): number {
    return this.nextU32() / TWO_POW_32;
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** Uniform integer in [min, maxExclusive). */
  int(min: number, maxExclusive: number): number {
    return min + Math.floor((maxExclusive - min) * this.float());
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Normal by the Box-Muller transform. */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * z;
    }
    // 1 - float() is in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - this.float()));
    const theta = 2 * Math.PI * this.float();
    this.spareNormal = r * Math.sin(theta);
    return mean + sd * r * Math.cos(theta);
  }

  /** exp(N(mu, sigma)): the median is e^mu, the mean e^(mu + sigma²/2). */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** Exponential with the given rate (mean 1 / rate). */
  exponential(rate: number): number {
    return -Math.log(1 - this.float()) / rate;
  }

  /** Gamma(shape, scale) by Marsaglia and Tsang's squeeze method; mean shape·scale, variance shape·scale². */
  gamma(shape: number, scale: number): number {
    if (shape < 1) {
      // Boost: Gamma(k) = Gamma(k + 1) · U^(1/k).
      const u = 1 - this.float();
      return this.gamma(shape + 1, scale) * u ** (1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.float();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  /**
   * Poisson(lambda). Knuth's multiplication method on chunks of at most 200 (a Poisson variable is the sum of Poisson
   * variables over a split of its mean), so e^-lambda never underflows; the cost is O(lambda), which is what the
   * generator would pay anyway to build that many events.
   */
  poisson(lambda: number): number {
    let remaining = lambda;
    let count = 0;
    while (remaining > 0) {
      const part = Math.min(remaining, 200);
      remaining -= part;
      const limit = Math.exp(-part);
      let product = this.float();
      while (product > limit) {
        count++;
        product *= this.float();
      }
    }
    return count;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** `n` lowercase hex characters (n even). */
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i += 8) {
      const w = this.nextU32();
      s +=
        HEX_BYTE[w >>> 24]! +
        HEX_BYTE[(w >>> 16) & 0xff]! +
        HEX_BYTE[(w >>> 8) & 0xff]! +
        HEX_BYTE[w & 0xff]!;
    }
    return s.length === n ? s : s.slice(0, n);
  }

  /** A version-4-shaped UUID (122 random bits) drawn from this stream, so ids are reproducible. */
  uuid(): string {
    const w0 = this.nextU32();
    const w1 = this.nextU32();
    const w2 = this.nextU32();
    const w3 = this.nextU32();
    return (
      HEX_BYTE[w0 >>> 24]! +
      HEX_BYTE[(w0 >>> 16) & 0xff]! +
      HEX_BYTE[(w0 >>> 8) & 0xff]! +
      HEX_BYTE[w0 & 0xff]! +
      '-' +
      HEX_BYTE[w1 >>> 24]! +
      HEX_BYTE[(w1 >>> 16) & 0xff]! +
      '-4' +
      HEX_BYTE[(w1 >>> 8) & 0x0f]!.slice(1) +
      HEX_BYTE[w1 & 0xff]! +
      '-' +
      HEX_BYTE[((w2 >>> 24) & 0x3f) | 0x80]! +
      HEX_BYTE[(w2 >>> 16) & 0xff]! +
      '-' +
      HEX_BYTE[(w2 >>> 8) & 0xff]! +
      HEX_BYTE[w2 & 0xff]! +
      HEX_BYTE[w3 >>> 24]! +
      HEX_BYTE[(w3 >>> 16) & 0xff]! +
      HEX_BYTE[(w3 >>> 8) & 0xff]! +
      HEX_BYTE[w3 & 0xff]!
    );
  }
}

/**
 * An independent stream for (seed, stream, salt). The seed may be any safe integer; both 32-bit halves are hashed in.
 * `salt` separates purposes that share an index (a person's behaviour vs. the ids given to its messages), so adding a
 * draw to one never shifts the other.
 */
export function createRng(seed: number, stream: number, salt = 0): Rng {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  let h = fmix32(lo ^ 0x243f6a88);
  h = fmix32(h ^ hi ^ 0x85a308d3);
  h = fmix32(h ^ (stream >>> 0) ^ 0x13198a2e);
  h = fmix32(h ^ (Math.floor(stream / TWO_POW_32) >>> 0) ^ 0x03707344);
  h = fmix32(h ^ (salt >>> 0) ^ 0xa4093822);
  // splitmix32 spreads the one hashed word over the four state words.
  let state = h;
  const words: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    state = (state + 0x9e3779b9) | 0;
    words[i] = fmix32(state);
  }
  return new Rng(words);
}

/**
 * Weighted choice among `items` with fixed weights: the cumulative table is built once and each draw is one uniform
 * and a short scan (the tables here have at most a few dozen entries).
 */
export class WeightedTable<T> {
  readonly items: readonly T[];
  private readonly cumulative: Float64Array;

  constructor(entries: readonly (readonly [T, number])[]) {
    const kept = entries.filter(([, w]) => w > 0);
    if (kept.length === 0) throw new RangeError('a weighted table needs at least one positive weight');
    this.items = kept.map(([item]) => item);
    this.cumulative = new Float64Array(kept.length);
    let total = 0;
    kept.forEach(([, w], i) => {
      total += w;
      this.cumulative[i] = total;
    });
    for (let i = 0; i < kept.length; i++) this.cumulative[i]! /= total;
  }

  sample(rng: Rng): T {
    const u = rng.float();
    const last = this.items.length - 1;
    for (let i = 0; i < last; i++) if (u < this.cumulative[i]!) return this.items[i]!;
    return this.items[last]!;
  }
}
