import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SegflowError } from '../errors.js';
import { RECORD_FIELDS } from './prepare-message.js';

/**
 * The collector's write-ahead log: acknowledged events live here, fsync'd, until the warehouse has loaded them.
 *
 * Why: an engine commit costs about the same for 5,000 events as for 50,000 (the WAL write, the checkpoint, the
 * statements of the pipeline), and loads of more than a row group (122,880 rows) are written straight to the database
 * file. Acknowledging only after an engine commit ties the commit size to how many requests are waiting, which is
 * small. Acknowledging after an fsync of this log instead lets the warehouse load in large batches behind it, while an
 * acknowledged event is just as durable: it is on disk before the 200, and a restart loads whatever the warehouse had
 * not (the position loaded so far commits in the same transaction as the events, so nothing loads twice).
 *
 * Format: numbered segment files `NNNNNNNNNN.log` in one directory. Each append is one frame: payload length (uint32
 * LE), CRC-32 of the payload (uint32 LE), then the payload: the records (prepare-message.ts) joined by '\n', UTF-8.
 * A frame is written with one write and then fsync'd; a torn or corrupt frame at the end of the last segment (a crash
 * mid-write, never acknowledged) is cut off when the log is opened.
 */

/**
 * Where the collector keeps its intake log when not told: beside a database file (or chdb's folder), `<location>.intake`.
 * A ClickHouse server's location is its URL, not a place on this machine: its intake log is ./segflow.intake in the
 * working directory (the log belongs to this collector, whose acknowledged events it keeps until they are loaded). An
 * in-memory database has nothing durable to log for (undefined).
 *
 * @example
 * defaultIntakeLogDir('/data/segflow.duckdb') // '/data/segflow.duckdb.intake'
 * defaultIntakeLogDir('http://ch:8123') // 'segflow.intake'
 */
export function defaultIntakeLogDir(location: string): string | undefined {
  if (location === ':memory:' || location === '') return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? 'segflow.intake' : `${location}.intake`;
}

/** Where a frame ends: the segment and the byte offset just after the frame. */
export interface LogPosition {
  segment: number;
  offset: number;
}

export interface LogFrame {
  records: string[];
  end: LogPosition;
}

const HEADER_BYTES = 8;
/** A segment is closed and a new one started once it holds this many bytes. */
const SEGMENT_BYTES = 64 * 1024 * 1024;
/** Larger frames cannot come from the collector (a request is at most 500 KB): treat them as corruption. */
const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/**
 * What the records in this directory mean: the layout of prepare-message.ts. A log written by a version with another
 * layout must be loaded by that version; reading it as this one would shift fields.
 */
const FORMAT = `segflow intake log 1: ${RECORD_FIELDS.join(',')}\n`;
const FORMAT_FILE = 'FORMAT';

const segmentName = (n: number) => `${String(n).padStart(10, '0')}.log`;

function segmentsIn(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => /^(\d{10})\.log$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The frames of one segment's bytes from `from`, and where the valid frames end. */
function framesOf(
  bytes: Buffer,
  segment: number,
  from: number,
): { frames: LogFrame[]; validEnd: number; damaged: boolean } {
  const frames: LogFrame[] = [];
  let at = from;
  while (at + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    const sum = bytes.readUInt32LE(at + 4);
    const end = at + HEADER_BYTES + length;
    if (length > MAX_FRAME_BYTES || end > bytes.length) break;
    const payload = bytes.subarray(at + HEADER_BYTES, end);
    if (crc32(payload) !== sum) break;
    frames.push({
      records: payload.length ? payload.toString('utf8').split('\n') : [],
      end: { segment, offset: end },
    });
    at = end;
  }
  return { frames, validEnd: at, damaged: at !== bytes.length };
}

export class IntakeLog {
  private constructor(
    readonly dir: string,
    private file: FileHandle,
    private segment: number,
    private size: number,
    /** Frames after the loaded position found when the log was opened, oldest first. */
    readonly unloaded: readonly LogFrame[],
    /** Bytes cut off damaged segment tails when the log was opened (a crash mid-write; never acknowledged). */
    readonly discardedBytes: number,
  ) {}

  /**
   * Open (or create) the log in `dir`. `loaded` is the position the warehouse has loaded up to (nothing before it is
   * returned); appends go to a fresh segment numbered after every existing one and after `loaded`, so positions only
   * grow even if the directory was emptied.
   */
  static async open(
    dir: string,
    loaded: LogPosition | undefined,
    /** The layout line of another kind of record kept the same way (decide()'s exposure log); default events. */
    format = FORMAT,
  ): Promise<IntakeLog> {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new SegflowError(
        'INTAKE_LOG_UNAVAILABLE',
        `cannot create the collector's log directory ${dir}: ${(e as Error).message}`,
        'make the directory next to the database writable, or pass another with --intake-log',
      );
    }
    const formatPath = join(dir, FORMAT_FILE);
    const segments = segmentsIn(dir);
    if (existsSync(formatPath)) {
      if (readFileSync(formatPath, 'utf8') !== format) {
        throw new SegflowError(
          'INTAKE_LOG_UNAVAILABLE',
          `the collector's log in ${dir} was written by another version of segflow, with another record layout`,
          'start that version once so it loads the log (it empties the log as it loads), then this one; or move the directory away if its events are already in the database',
        );
      }
    } else {
      writeFileSync(formatPath, format);
    }
    const unloaded: LogFrame[] = [];
    let discardedBytes = 0;
    for (const segment of segments) {
      if (loaded && segment < loaded.segment) continue;
      const path = join(dir, segmentName(segment));
      const bytes = readFileSync(path);
      const from = loaded && segment === loaded.segment ? Math.min(loaded.offset, bytes.length) : 0;
      const { frames, validEnd, damaged } = framesOf(bytes, segment, from);
      for (const f of frames) if (f.records.length) unloaded.push(f);
      if (damaged) {
        // Only the unsynced tail of a crash can be damaged; cut it so the file holds whole frames only.
        discardedBytes += bytes.length - validEnd;
        const fd = openSync(path, 'r+');
        try {
          ftruncateSync(fd, validEnd);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    }
    const next = Math.max(segments.at(-1) ?? 0, loaded?.segment ?? 0) + 1;
    const file = await open(join(dir, segmentName(next)), 'a');
    await syncDir(dir);
    return new IntakeLog(dir, file, next, 0, unloaded, discardedBytes);
  }

  /** Append one frame and fsync it; resolves with where it ends once it is on disk. */
  async append(records: readonly string[]): Promise<LogPosition> {
    // A segment deleted from under us (the directory removed by hand) would take acknowledged frames with it at the
    // next restart: start a new one instead. One fstat, a microsecond.
    if (this.size >= SEGMENT_BYTES || fstatSync(this.file.fd).nlink === 0) await this.rotate();
    const payload = Buffer.from(records.join('\n'), 'utf8');
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    await this.file.writev([header, payload]);
    await this.file.datasync();
    this.size += HEADER_BYTES + payload.length;
    return { segment: this.segment, offset: this.size };
  }

  /**
   * Delete the segments wholly before `loaded` (the warehouse has committed everything in them). Best effort: a
   * segment that cannot be deleted now is loaded data either way (the position skips it) and goes next time.
   */
  removeLoaded(loaded: LogPosition): void {
    try {
      for (const segment of segmentsIn(this.dir)) {
        if (segment >= loaded.segment || segment >= this.segment) break;
        rmSync(join(this.dir, segmentName(segment)), { force: true });
      }
    } catch {
      // Nothing to undo: see above.
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private async rotate(): Promise<void> {
    await this.file.close();
    mkdirSync(this.dir, { recursive: true });
    this.segment++;
    this.size = 0;
    this.file = await open(join(this.dir, segmentName(this.segment)), 'a');
    await syncDir(this.dir);
  }
}

/** Make a new file's directory entry durable too (a segment created just before a crash must survive it). */
async function syncDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems cannot fsync a directory; the file's own fsync is then all there is.
  } finally {
    await handle.close();
  }
}

/** The key in segflow_meta of the position the warehouse has loaded the collector's log up to. */
export const INTAKE_LOG_POSITION_KEY = 'intake_log_position';

/** The position as stored in segflow_meta, and back. */
export function formatPosition(p: LogPosition): string {
  return `${p.segment}:${p.offset}`;
}

export function parsePosition(text: string | undefined): LogPosition | undefined {
  const m = text ? /^(\d+):(\d+)$/.exec(text) : null;
  return m ? { segment: Number(m[1]), offset: Number(m[2]) } : undefined;
}
