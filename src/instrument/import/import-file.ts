import { once } from 'node:events';
import { closeSync, createWriteStream, openSync, readSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { fromWorkingDir, workingDir } from '../../config/working-dir.js';
import type { SqlValue, Warehouse } from '../../engine/warehouse.js';
import { errorMessage, isSegflowError, SegflowError } from '../../errors.js';
import {
  type CheckedStage,
  checkStage,
  dropStage,
  type IngestCounts,
  RAW_TABLE,
  type RejectedRow,
  STAGE_FIELDS,
  stageFromFields,
  stageFromRaw,
  storeChecked,
} from '../ingest.js';
import { lineCensus, numberedLines } from './line-reader.js';
import { type ImportMapping, mappedStageSource, Params } from './mapping.js';
import { CDNOW_MAPPING, type ImportPreset, REES46_MAPPING } from './presets.js';

export const IMPORT_FORMATS = ['ndjson', 'csv', 'parquet'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportProgress {
  phase: 'loading' | 'validating' | 'writing';
  /** 0..1 within the phase when known. */
  fraction?: number;
}

export interface ImportOptions {
  path: string;
  /** Default: from the preset, else the file extension. */
  format?: ImportFormat;
  preset?: ImportPreset;
  /** Column → field mapping for CSV and Parquet (presets bring their own). */
  mapping?: ImportMapping;
  /** Where rejected rows go (NDJSON, one per row with its problems); default `<file name>.rejects.ndjson` in the
   *  working directory; null to skip the file (they are still in the rejected_events table). */
  rejectsPath?: string | null;
  /** receivedAt for rows that carry none. Default: now. */
  receivedAt?: Date;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportSummary extends IngestCounts {
  file: string;
  format: ImportFormat;
  preset: ImportPreset | null;
  /** Path of the rejects file, when any row was rejected and a file was written. */
  rejectsFile: string | null;
  /** How the NDJSON was read: the engine's reader (fast) or line by line (exact line numbers for messy files). */
  reader: 'engine' | 'lines' | 'table';
  seconds: number;
  rowsPerSecond: number;
}

/**
 * The scratch relation a file's rows are copied or sent into (DuckDB, a ClickHouse server; embedded ClickHouse reads
 * the file where it lies and leaves it unused). Dropped once the rows are checked: it holds the whole file.
 */
const FILE_TABLE = '_sf_file';

function formatOf(path: string, preset: ImportPreset | undefined): ImportFormat {
  if (preset === 'segment') return 'ndjson';
  if (preset === 'rees46') return 'csv';
  const ext = extname(path.replace(/\.gz$/, '')).toLowerCase();
  if (['.ndjson', '.jsonl', '.json'].includes(ext)) return 'ndjson';
  if (['.csv', '.tsv', '.txt'].includes(ext)) return 'csv';
  if (ext === '.parquet') return 'parquet';
  throw new SegflowError(
    'USAGE',
    `cannot tell the format of ${path} from its extension`,
    'pass --format ndjson|csv|parquet, or a --preset',
  );
}

/** A `[` before the first message: an export of a JSON array, which would otherwise be one rejected "line". */
function startsWithJsonArray(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return head
      .subarray(0, n)
      .toString('utf8')
      .trimStart()
      .replace(/^\uFEFF/, '')
      .startsWith('[');
  } finally {
    closeSync(fd);
  }
}

function unreadable(path: string, why: string): SegflowError {
  return new SegflowError(
    'IMPORT_FILE_UNREADABLE',
    `cannot read ${path}: ${why}`,
    'check the path, the permissions and that the file is the format you named; nothing was imported',
  );
}

/** Turn an engine error while reading the file into a clear "cannot read" (nothing is imported: the tx rolls back). */
async function readingFile<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isSegflowError(e) && e.code === 'SQL_FAILED') throw unreadable(path, errorMessage(e).split('\n')[0]!);
    throw e;
  }
}

class RejectsWriter {
  private stream: ReturnType<typeof createWriteStream> | null = null;
  constructor(private readonly path: string | null) {}
  get written(): string | null {
    return this.stream ? this.path : null;
  }
  async write(rows: RejectedRow[]): Promise<void> {
    if (!this.path) return;
    this.stream ??= createWriteStream(fromWorkingDir(this.path));
    const text = rows
      .map((r) => JSON.stringify({ line: r.rowNo, messageId: r.messageId, problems: r.problems, raw: r.raw }))
      .join('\n');
    if (!this.stream.write(`${text}\n`)) await once(this.stream, 'drain');
  }
  async close(): Promise<void> {
    if (!this.stream) return;
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

/** Poll the engine's progress while a long statement runs. */
function watchProgress(
  wh: Warehouse,
  phase: ImportProgress['phase'],
  onProgress?: (p: ImportProgress) => void,
) {
  if (!onProgress) return () => {};
  const timer = setInterval(() => {
    const fraction = wh.progress();
    onProgress(fraction === undefined ? { phase } : { phase, fraction });
  }, 250);
  return () => clearInterval(timer);
}

async function stageLines(tx: Warehouse, path: string): Promise<void> {
  await tx.storage.createScratch({
    name: RAW_TABLE,
    columns: [
      ['row_no', 'bigint'],
      ['raw', 'text'],
    ],
    rows: numberedLines(path),
  });
}

/**
 * NDJSON: the engine's JSON reader when the file is clean (the fast path), else line by line. The fast path is only
 * trusted when it read exactly as many rows as the file has lines and none came back blank — the reader cannot tell
 * a non-JSON line from `{}` — so messy files take the exact path and every line gets its own verdict. The lines are
 * counted while the engine reads (the count is this thread's work, the read the engine's threads'): on the refresh
 * benchmark's 5 GB file the count alone took 5.6–10.3 s.
 */
async function checkNdjson(
  tx: Warehouse,
  path: string,
  receivedAt: Date | undefined,
  onProgress?: (p: ImportProgress) => void,
): Promise<'engine' | 'lines'> {
  if (!path.endsWith('.gz')) {
    onProgress?.({ phase: 'loading', fraction: 0 });
    const counting = lineCensus(path);
    // Awaited below in every case; this only keeps a failed count from being reported as unhandled meanwhile.
    counting.catch(() => {});
    const columns = Object.fromEntries(STAGE_FIELDS.map((f) => [f, 'json' as const]));
    let checked: CheckedStage | undefined;
    let failure: unknown;
    try {
      const file = await tx.storage.stageFile({
        name: FILE_TABLE,
        path,
        format: { kind: 'ndjson', columns },
        onProgress: (fraction) => onProgress?.({ phase: 'loading', fraction }),
      });
      const source = stageFromFields(tx.dialect, `SELECT * FROM ${file.relation}`, { nullsAreSqlNull: true });
      const stop = watchProgress(tx, 'loading', onProgress);
      try {
        checked = await checkStage(tx, source, file.params, receivedAt);
      } finally {
        stop();
      }
    } catch (e) {
      failure = e;
    }
    await tx.storage.dropScratch(FILE_TABLE);
    const census = await counting;
    if (census.blank === 0) {
      // A file without blank lines that the engine cannot read is unreadable, as before the count said otherwise.
      if (failure) return readingFile(path, () => Promise.reject(failure));
      if (checked!.rows === census.nonBlank && checked!.blankRows === 0) return 'engine';
    }
  }
  onProgress?.({ phase: 'loading' });
  await stageLines(tx, path);
  await checkStage(tx, stageFromRaw(tx.dialect, RAW_TABLE), [], receivedAt);
  return 'lines';
}

async function sourceColumns(tx: Warehouse, source: string, params: readonly unknown[]): Promise<string[]> {
  const { columns } = await tx.readOnlyQuery(`SELECT * FROM (${source}) LIMIT 0`, params as never);
  return columns;
}

/** A mapped table (CSV, Parquet, or a preset's own reader) → checked stage. */
async function checkMapped(
  tx: Warehouse,
  source: string,
  mapping: ImportMapping,
  path: string,
  sourceParams: readonly SqlValue[],
  receivedAt: Date | undefined,
) {
  const d = tx.dialect;
  const params = new Params();
  for (const p of sourceParams) params.add(p); // $1… in `source`
  const columns = await readingFile(path, () => sourceColumns(tx, source, params.values));
  const mapped = mappedStageSource(d, source, columns, mapping, params);
  await readingFile(path, () =>
    checkStage(tx, stageFromFields(d, mapped, { sourceProblems: true }), params.values, receivedAt),
  );
}

function cdnowSource(tx: Warehouse): string {
  const d = tx.dialect;
  const n = d.arrayLength('parts');
  // The literature's sample file has a sample id in second place: with five columns, skip it.
  const item = (i: number) =>
    `CASE WHEN ${n} = 5 THEN ${d.listItem('parts', i + 1)} ELSE ${d.listItem('parts', i)} END`;
  const wrongWidth = `CASE WHEN ${n} NOT IN (4, 5) THEN '$: expected 4 whitespace-separated columns (customer id, yyyymmdd, number of CDs, dollar value), found ' || ${n} END`;
  // Lines were staged by the line reader (exact numbers, CRLF-safe). A first line not starting with a digit is the
  // header.
  return `SELECT row_no, ${d.listItem('parts', 0)} AS customer_id, ${item(1)} AS date, ${item(2)} AS cds,
      ${item(3)} AS dollars, ${d.compactArray([wrongWidth])} AS source_problems
    FROM (SELECT row_no, ${d.splitWhitespace('raw')} AS parts FROM ${RAW_TABLE}
          WHERE NOT (row_no = 1 AND NOT (left(trim(raw), 1) BETWEEN '0' AND '9'))) s`;
}

/** Import one file of events. Everything of one file commits together: a failure imports nothing. */
export async function importFile(wh: Warehouse, options: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  const path = options.path;
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (e) {
    throw unreadable(path, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(e));
  }
  if (!stat.isFile()) throw unreadable(path, 'not a regular file');
  const preset = options.preset;
  const format = options.format ?? formatOf(path, preset);
  if (format === 'ndjson' && !path.endsWith('.gz') && startsWithJsonArray(path)) {
    throw new SegflowError(
      'IMPORT_FILE_UNREADABLE',
      `${path} is one JSON array; segflow imports NDJSON, one message per line`,
      `convert it, e.g. \`jq -c '.[]' ${basename(path)} > ${basename(path).replace(/\.\w+$/, '')}.ndjson\`, then import that; nothing was imported`,
    );
  }
  const rejectsPath =
    options.rejectsPath === undefined ? `${basename(path)}.rejects.ndjson` : options.rejectsPath;
  const rejects = new RejectsWriter(rejectsPath);
  const source = `import:${basename(path)}`;
  let reader: ImportSummary['reader'] = 'table';

  // The file is read and checked into scratch tables before the transaction, holding the connection throughout:
  // nothing durable is written until the checked rows are stored, and DuckDB scans a table created inside a
  // transaction far slower than a committed one (a 2M-event check took 7.1–7.4 s inside, 3.5–3.8 s outside).
  const counts = await wh.exclusive(async (tx) => {
    await dropStage(tx);
    await tx.storage.dropScratch(FILE_TABLE);
    const d = tx.dialect;
    if (preset === 'cdnow') {
      await stageLines(tx, path);
      await checkMapped(tx, cdnowSource(tx), CDNOW_MAPPING, path, [], options.receivedAt);
      reader = 'lines';
    } else if (format === 'ndjson') {
      if (options.mapping)
        throw new SegflowError(
          'USAGE',
          'NDJSON imports take Segment messages as they are',
          'drop --mapping, or convert the file to CSV',
        );
      reader = await checkNdjson(tx, path, options.receivedAt, options.onProgress);
    } else {
      const header = options.mapping?.csv?.header ?? true;
      const delimiter = options.mapping?.csv?.delimiter;
      const file = await readingFile(path, () =>
        tx.storage.stageFile({
          name: FILE_TABLE,
          path,
          format:
            format === 'parquet'
              ? { kind: 'parquet' }
              : { kind: 'csv', header, ...(delimiter ? { delimiter } : {}) },
          // Row numbers are file line numbers for CSV with a header (line 1) and no embedded newlines.
          firstRowNo: format === 'csv' && header ? 2 : 1,
          onProgress: (fraction) => options.onProgress?.({ phase: 'loading', fraction }),
        }),
      );
      let mapping = options.mapping;
      let src = `SELECT * FROM ${file.relation}`;
      if (preset === 'rees46') {
        mapping = REES46_MAPPING;
        src = `SELECT *, CASE WHEN event_type = 'purchase' THEN price END AS purchase_revenue FROM (${src})`;
      }
      if (!mapping) {
        // A table whose columns are Segment's own field names (e.g. `segflow generate --out x.parquet`) needs no
        // mapping: each field is read as JSON from its column.
        const columns = await readingFile(path, () => sourceColumns(tx, src, file.params));
        if (!columns.includes('type')) {
          throw new SegflowError(
            'IMPORT_MAPPING_INVALID',
            `a ${format} file needs a mapping from its columns to event fields (its columns: ${columns.filter((c) => c !== 'row_no').join(', ')})`,
            'pass --mapping FILE.yaml, or flags such as --user-id-column, --timestamp-column, --event; see docs/importing.md',
          );
        }
        const fields = STAGE_FIELDS.map((f) =>
          columns.includes(f)
            ? `${d.toJsonValue(d.quoteIdent(f))} AS ${d.quoteIdent(f)}`
            : `CAST(NULL AS ${d.columnType('json')}) AS ${d.quoteIdent(f)}`,
        );
        const segmentShaped = stageFromFields(d, `SELECT row_no, ${fields.join(', ')} FROM (${src})`);
        await readingFile(path, () => checkStage(tx, segmentShaped, file.params, options.receivedAt));
        reader = 'table';
      } else {
        const stop = watchProgress(tx, 'loading', options.onProgress);
        try {
          await checkMapped(tx, src, mapping, path, file.params, options.receivedAt);
        } finally {
          stop();
        }
      }
      await tx.storage.dropScratch(FILE_TABLE);
    }
    options.onProgress?.({ phase: 'validating' });
    // Everything of one file commits together: a failure from here on stores nothing.
    return tx.transaction(async (tx) => {
      const c = await storeChecked(tx, { source, onRejected: (rows) => rejects.write(rows) });
      options.onProgress?.({ phase: 'writing' });
      await dropStage(tx);
      await tx.storage.dropScratch(FILE_TABLE);
      await tx.run(
        `INSERT INTO import_runs (started_at, finished_at, file, format, preset, rows_read, inserted, duplicates, rejected, rejects_file)
       VALUES (?, ${d.now()}, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          new Date(started),
          path,
          format,
          preset ?? null,
          c.received,
          c.inserted,
          c.duplicates,
          c.rejected,
          c.rejected > 0 && rejectsPath ? resolve(workingDir(), rejectsPath) : null,
        ],
      );
      return c;
    });
  });
  await rejects.close();
  const seconds = (Date.now() - started) / 1000;
  return {
    file: path,
    format,
    preset: preset ?? null,
    ...counts,
    rejectsFile: rejects.written,
    reader,
    seconds,
    rowsPerSecond: seconds > 0 ? Math.round(counts.received / seconds) : counts.received,
  };
}
