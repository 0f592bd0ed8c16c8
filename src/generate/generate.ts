import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { SegflowError } from '../errors.js';
import { WeightedTable } from '../shared/seeded-random.js';
import {
  ECOMMERCE_ARCHETYPES,
  ECOMMERCE_MIX,
  type EcommerceContext,
  ecommerceCampaigns,
  generateEcommercePerson,
} from './ecommerce.js';
import type { GroundTruth, SegmentEvent } from './generated-message.js';
import { assertNever, type GeneratedUnit, toJsonLine } from './person.js';
import { generateSaasAccount, SAAS_ARCHETYPES, SAAS_MIX, type SaasContext, saasCampaigns } from './saas.js';
import { Calendar, ECOMMERCE_SHAPE, SAAS_SHAPE } from './timing.js';

/**
 * The behaviour generator's public API: simulated people with latent archetypes emitting Segment-spec messages, with
 * a ground-truth record per person. Output is a pure function of the options (no wall clock, no Math.random), and it
 * is produced one person (or SaaS account) at a time, so memory does not grow with the number of people.
 */

export type { GroundTruth, JsonObject, SegmentEvent } from './generated-message.js';

export type GeneratorProfile = 'ecommerce' | 'saas';

export interface GenerateOptions {
  /** Persons (ecommerce) or users (saas: spread over accounts of 1-12 users). */
  people: number;
  /** Length of the simulated window in whole days. */
  days: number;
  /** Same seed, same options -> byte-identical output. Any safe integer. */
  seed: number;
  profile: GeneratorProfile;
  /** ISO date-time of day 0 (default 2026-01-01T00:00:00Z). */
  start?: string;
  /** Weights per archetype, merged over the profile's default mix (set one to 0 to leave it out). */
  archetypeMix?: Partial<Record<string, number>>;
}

export const DEFAULT_MIX: Record<GeneratorProfile, Record<string, number>> = {
  ecommerce: { ...ECOMMERCE_MIX },
  saas: { ...SAAS_MIX },
};

export const DEFAULT_START = '2026-01-01T00:00:00Z';
/** Ten years: far beyond any sensible simulation, and it bounds the calendar's memory (24 numbers per day). */
const MAX_DAYS = 3660;

function usage(message: string, hint: string): SegflowError {
  return new SegflowError('USAGE', message, hint);
}

function checkOptions(opts: GenerateOptions): { startMs: number } {
  if (!Number.isSafeInteger(opts.people) || opts.people < 0) {
    throw usage(`people must be a whole number >= 0, got ${opts.people}`, 'Pass e.g. people: 10000.');
  }
  if (!Number.isSafeInteger(opts.days) || opts.days < 1 || opts.days > MAX_DAYS) {
    throw usage(`days must be a whole number from 1 to ${MAX_DAYS}, got ${opts.days}`, 'Pass e.g. days: 90.');
  }
  if (!Number.isSafeInteger(opts.seed)) {
    throw usage(`seed must be an integer, got ${opts.seed}`, 'Pass any integer, e.g. seed: 42.');
  }
  const startMs = Date.parse(opts.start ?? DEFAULT_START);
  if (!Number.isFinite(startMs)) {
    throw usage(
      `start is not an ISO date: ${JSON.stringify(opts.start)}`,
      `Use a form like ${DEFAULT_START}.`,
    );
  }
  return { startMs };
}

/** The profile's mix with the override merged in, as a sampling table. */
function resolveMix<A extends string>(
  profile: GeneratorProfile,
  archetypes: readonly A[],
  defaults: Record<A, number>,
  override: Partial<Record<string, number>> | undefined,
): WeightedTable<A> {
  const weights: Record<string, number> = { ...defaults };
  for (const [key, value] of Object.entries(override ?? {})) {
    if (!(archetypes as readonly string[]).includes(key)) {
      throw usage(
        `unknown ${profile} archetype in archetypeMix: ${key}`,
        `Known archetypes: ${archetypes.join(', ')}.`,
      );
    }
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0) {
      throw usage(
        `archetypeMix.${key} must be a finite weight >= 0, got ${value}`,
        'Weights are relative, e.g. 0.25.',
      );
    }
    weights[key] = value;
  }
  if (archetypes.every((a) => (weights[a] ?? 0) === 0)) {
    throw usage(
      'archetypeMix leaves every archetype at weight 0',
      'Give at least one archetype a positive weight.',
    );
  }
  return new WeightedTable(archetypes.map((a) => [a, weights[a] ?? 0] as const));
}

/**
 * Generate messages one person (ecommerce) or one account (saas) at a time. Each yielded batch holds that unit's
 * messages in time order and one truth record per person in it. Options are checked when called, not on first use.
 */
export function generateEvents(
  opts: GenerateOptions,
): Generator<{ events: SegmentEvent[]; truth: GroundTruth[] }> {
  const { startMs } = checkOptions(opts);
  switch (opts.profile) {
    case 'ecommerce': {
      const calendar = new Calendar(startMs, opts.days, ECOMMERCE_SHAPE);
      const ctx: EcommerceContext = {
        seed: opts.seed,
        calendar,
        mix: resolveMix('ecommerce', ECOMMERCE_ARCHETYPES, ECOMMERCE_MIX, opts.archetypeMix),
        campaigns: ecommerceCampaigns(calendar),
      };
      return ecommerceUnits(ctx, opts.people);
    }
    case 'saas': {
      const calendar = new Calendar(startMs, opts.days, SAAS_SHAPE);
      const ctx: SaasContext = {
        seed: opts.seed,
        calendar,
        mix: resolveMix('saas', SAAS_ARCHETYPES, SAAS_MIX, opts.archetypeMix),
        campaigns: saasCampaigns(calendar),
      };
      return saasUnits(ctx, opts.people);
    }
    default:
      return assertNever(opts.profile);
  }
}

function* ecommerceUnits(ctx: EcommerceContext, people: number): Generator<GeneratedUnit> {
  for (let i = 0; i < people; i++) yield generateEcommercePerson(ctx, i);
}

function* saasUnits(ctx: SaasContext, people: number): Generator<GeneratedUnit> {
  let users = 0;
  for (let account = 0; users < people; account++) {
    // The last account is cut to the users still wanted, so the total is exactly `people`.
    const unit = generateSaasAccount(ctx, account, people - users);
    users += unit.truth.length;
    yield unit;
  }
}

/** `events.ndjson` -> `events.truth.ndjson`; any other name gets `.truth.ndjson` appended. */
export function defaultTruthPath(out: string): string {
  return out.endsWith('.ndjson') ? `${out.slice(0, -'.ndjson'.length)}.truth.ndjson` : `${out}.truth.ndjson`;
}

/** Lines are encoded straight into chunks of this many bytes, each written (and awaited if need be) when full. */
const CHUNK_BYTES = 1 << 20;

/**
 * An NDJSON file written in large chunks. Each line is encoded into the current chunk as soon as it is made, so line
 * strings die young (holding a megabyte of them until a flush would push them into the old generation and make the
 * garbage collector the bottleneck), and chunks are recycled once written, so the writer allocates a few megabytes in
 * all. Waits for 'drain' whenever the stream asks to: that is the backpressure.
 */
class ChunkedFile {
  private chunk: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  /** Filled chunks (with their used length) not yet handed to the stream. */
  private full: { chunk: Buffer; length: number }[] = [];
  /** Chunks the stream has finished writing, ready for reuse. */
  private readonly spare: Buffer[] = [];
  private failure: Error | null = null;
  bytes = 0;
  readonly stream: WriteStream;

  constructor(path: string) {
    // Room for a few chunks, so producing the next chunk overlaps with writing the last one.
    this.stream = createWriteStream(path, { highWaterMark: 4 * CHUNK_BYTES });
    // Remembered so a failure surfaces at the next flush instead of as an unhandled 'error' event.
    this.stream.on('error', (e) => {
      this.failure = e;
    });
  }

  /** Encode one line; returns true when a chunk is full and the caller should `flush`. */
  append(line: string): boolean {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    const worst = 3 * line.length;
    if (this.used + worst > this.chunk.length) {
      this.full.push({ chunk: this.chunk, length: this.used });
      this.chunk =
        worst > CHUNK_BYTES
          ? Buffer.allocUnsafe(worst)
          : (this.spare.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES));
      this.used = 0;
    }
    this.used += this.chunk.write(line, this.used);
    return this.full.length > 0;
  }

  async flush(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    const ready = this.full;
    this.full = [];
    for (const { chunk, length } of ready) {
      if (length === 0) {
        this.recycle(chunk);
        continue;
      }
      this.bytes += length;
      const more = this.stream.write(chunk.subarray(0, length), () => this.recycle(chunk));
      if (!more) await once(this.stream, 'drain');
    }
  }

  private recycle(chunk: Buffer): void {
    if (chunk.length === CHUNK_BYTES) this.spare.push(chunk);
  }

  async close(): Promise<void> {
    this.full.push({ chunk: this.chunk, length: this.used });
    this.used = 0;
    await this.flush();
    this.stream.end();
    await finished(this.stream);
    if (this.failure !== null) throw this.failure;
  }
}

/**
 * Generate and write NDJSON: messages to `out`, ground truth to `truthOut` (default: see defaultTruthPath). Returns
 * the message count, the person count, the bytes of the messages file and where the truth went. `onProgress` is called
 * after every chunk written (about 1 MB) and once at the end.
 */
export async function writeGeneratedFiles(
  opts: GenerateOptions & {
    out: string;
    truthOut?: string;
    onProgress?: (peopleDone: number, eventsDone: number) => void;
  },
): Promise<{ events: number; people: number; bytes: number; truthPath: string }> {
  const units = generateEvents(opts); // validates before any file is created
  const truthPath = opts.truthOut ?? defaultTruthPath(opts.out);
  if (resolve(truthPath) === resolve(opts.out)) {
    throw usage(`events and ground truth would both be written to ${opts.out}`, 'Pass a different truthOut.');
  }
  const eventsFile = new ChunkedFile(opts.out);
  const truthFile = new ChunkedFile(truthPath);
  let events = 0;
  let people = 0;
  try {
    await Promise.all([once(eventsFile.stream, 'open'), once(truthFile.stream, 'open')]);
    for (const unit of units) {
      let flush = false;
      for (const ev of unit.events) flush = eventsFile.append(toJsonLine(ev)) || flush;
      for (const t of unit.truth) flush = truthFile.append(`${JSON.stringify(t)}\n`) || flush;
      events += unit.events.length;
      people += unit.truth.length;
      if (flush) {
        await eventsFile.flush();
        await truthFile.flush();
        opts.onProgress?.(people, events);
      }
    }
    await Promise.all([eventsFile.close(), truthFile.close()]);
  } catch (e) {
    eventsFile.stream.destroy();
    truthFile.stream.destroy();
    throw e;
  }
  opts.onProgress?.(people, events);
  return { events, people, bytes: eventsFile.bytes, truthPath };
}
