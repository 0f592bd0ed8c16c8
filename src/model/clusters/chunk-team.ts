/**
 * Threads sharing out the chunks of one pass over the points, through a few words of shared memory: the lead thread
 * publishes a pass, then every thread (the lead included) claims chunks one at a time until none is left, and the
 * lead waits until all are done before it reads their results. Claiming chunk by chunk rather than taking a fixed
 * share keeps both cores busy to the end of each pass whatever else the machine is running, and a thread that joins
 * late (a worker still starting) takes the chunks left. Which thread runs a chunk never changes its result.
 */

/** The words of the control array. */
const GENERATION = 0;
const PASS = 1;
const ARG = 2;
/** The pass's generation (15 bits) above the next chunk to claim (16 bits): a claim for an older pass fails. */
const NEXT = 3;
const DONE = 4;
const STOP = 5;
const FAILED = 6;

/** At most 2^16 chunks per pass (the low half of NEXT). */
export const MAX_CHUNKS = 1 << 16;

/** One chunk of a pass: what every thread of the team runs. */
export type ChunkWork = (pass: number, arg: number, chunk: number) => void;

export function newControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(7 * 4));
}

/** The next chunk of the pass of this generation, or -1 when none is left (or the pass is over). */
function claim(control: Int32Array, generation: number, chunks: number): number {
  for (;;) {
    const next = Atomics.load(control, NEXT);
    if (next >>> 16 !== generation || (next & 0xffff) >= chunks) return -1;
    if (Atomics.compareExchange(control, NEXT, next, next + 1) === next) return next & 0xffff;
  }
}

function workThrough(control: Int32Array, generation: number, chunks: number, work: ChunkWork): void {
  const pass = Atomics.load(control, PASS);
  const arg = Atomics.load(control, ARG);
  for (
    let chunk = claim(control, generation, chunks);
    chunk >= 0;
    chunk = claim(control, generation, chunks)
  ) {
    work(pass, arg, chunk);
    if (Atomics.add(control, DONE, 1) + 1 === chunks) Atomics.notify(control, DONE);
  }
}

/**
 * The lead's side: a function that runs one pass over all chunks with the helpers, and returns when every chunk is
 * done. Blocks the calling thread meanwhile (Atomics.wait).
 */
export function leadTeam(
  control: Int32Array,
  chunks: number,
  work: ChunkWork,
): (pass: number, arg: number) => void {
  if (chunks > MAX_CHUNKS) throw new Error(`chunk team: ${chunks} chunks, at most ${MAX_CHUNKS}`);
  let generation = 0;
  return (pass, arg) => {
    generation = (generation + 1) & 0x7fff;
    Atomics.store(control, PASS, pass);
    Atomics.store(control, ARG, arg);
    Atomics.store(control, DONE, 0);
    // A helper still finishing the previous pass reads the new generation here and claims nothing from this one.
    Atomics.store(control, NEXT, generation << 16);
    Atomics.store(control, GENERATION, generation);
    Atomics.notify(control, GENERATION);
    workThrough(control, generation, chunks, work);
    for (let done = Atomics.load(control, DONE); done < chunks; done = Atomics.load(control, DONE)) {
      if (Atomics.load(control, FAILED)) throw new Error('k-means: a helper thread failed during a pass');
      Atomics.wait(control, DONE, done, 1000);
    }
  };
}

/**
 * A helper's side: waits for each pass the lead publishes and works through its chunks, until `stopTeam`. A helper
 * that throws marks the team failed (the lead stops waiting for its chunk) and rethrows.
 */
export function helpTeam(control: Int32Array, chunks: number, work: ChunkWork): void {
  let seen = 0;
  for (;;) {
    Atomics.wait(control, GENERATION, seen);
    if (Atomics.load(control, STOP)) return;
    seen = Atomics.load(control, GENERATION);
    try {
      workThrough(control, seen, chunks, work);
    } catch (error) {
      Atomics.store(control, FAILED, 1);
      Atomics.notify(control, DONE);
      throw error;
    }
  }
}

/** Ends the helpers' loops (the lead calls it when its last pass is done, or failed). */
export function stopTeam(control: Int32Array): void {
  Atomics.store(control, STOP, 1);
  Atomics.store(control, GENERATION, -1);
  Atomics.notify(control, GENERATION);
}
