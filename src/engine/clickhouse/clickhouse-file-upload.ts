import { createReadStream, statSync } from 'node:fs';
import { pipeline, Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FileSource, FileSourceSpec } from '../ports.js';
import type { Row } from '../warehouse.js';
import { clickhouseDialect, csvDelimiterSetting, ndjsonFields } from './clickhouse-dialect.js';
import { stringLiteral } from './clickhouse-literals.js';

/**
 * Files sent to a ClickHouse server. Its `file()` reads the server's disk (and only its user_files_path), never this
 * machine's, so an import sends the file's bytes as the body of an INSERT into a scratch (temporary) table of the
 * session, and reads that instead. The bytes stream from disk to the socket: no file is ever whole in memory here.
 *
 * - NDJSON: each line into `(row_no, line)` (format LineAsString, numbered as they arrive), the fields taken from
 *   the line with the same SQL as the embedded reader (`ndjsonFields`).
 * - CSV: the server infers the columns' types from the file's head as `file()` would (its first 25,000 rows, at most
 *   32 MiB: ClickHouse's own limits for schema inference), then the whole file streams into a table of those types.
 * - Parquet: the whole file into one String value (format RawBLOB), from which the server reads the columns
 *   (`format(Parquet, …)`) into a table of the types it infers. A Parquet reader needs the footer at the end of the
 *   file before any row, so the server holds the file's bytes while it reads them (then drops them).
 */

const q = clickhouseDialect.quoteIdent;

/** What the upload runs on: the warehouse's session (statements in order, one at a time). */
export interface UploadSession {
  run(sql: string): Promise<unknown>;
  query<T extends Row = Row>(sql: string): Promise<T[]>;
  /** An INSERT ending with its FORMAT clause, its data streamed from `body`. */
  send(insert: string, body: Readable): Promise<void>;
}

/** ClickHouse's defaults for schema inference (input_format_max_rows/bytes_to_read_for_schema_inference). */
const INFERENCE_ROWS = 25_000;
const INFERENCE_BYTES = 32 * 1024 * 1024;

/** The file's bytes (unzipped when it ends in .gz), reporting the fraction of the file read as they pass. */
function fileBytes(path: string, onProgress?: (fraction: number) => void): Readable {
  const size = Math.max(1, statSync(path).size);
  let read = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      onProgress?.(read / size);
      done(null, chunk);
    },
  });
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  // pipeline: an error (or an early stop) anywhere destroys every stream, and the reader sees the error.
  const noop = () => {};
  return path.endsWith('.gz') ? pipeline(file, counted, createGunzip(), noop) : pipeline(file, counted, noop);
}

/**
 * The first `lines` lines of a file (or fewer, at most `bytes`), cut at a line's end; read in chunks and stopped
 * there, so a large file is not read whole.
 */
async function head(path: string, lines: number, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let seen = 0;
  const stream = fileBytes(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let end = -1;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
        if (++seen === lines) {
          end = i + 1;
          break;
        }
      }
      chunks.push(end === -1 ? chunk : chunk.subarray(0, end));
      size += chunk.length;
      if (end !== -1 || size >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  const all = Buffer.concat(chunks);
  if (all.length <= bytes) return all;
  // Over the byte limit: keep whole lines only.
  const cut = all.lastIndexOf(10, bytes - 1);
  return all.subarray(0, cut === -1 ? bytes : cut + 1);
}

/** Columns as a table's structure: `"a" Nullable(Int64), "b" Nullable(String)`. */
function structureOf(columns: readonly { name: string; type: string }[]): string {
  return columns.map((c) => `${q(c.name)} ${c.type}`).join(', ');
}

async function createTable(session: UploadSession, name: string, columns: string): Promise<void> {
  await session.run(`DROP TEMPORARY TABLE IF EXISTS ${q(name)}`);
  await session.run(`CREATE TEMPORARY TABLE ${q(name)} (${columns}) ENGINE = Memory`);
}

/** The columns and types the server infers for a CSV file, from its head (sent into a scratch table first). */
async function inferCsvColumns(
  session: UploadSession,
  spec: FileSourceSpec,
  format: string,
  settings: string,
): Promise<{ name: string; type: string }[]> {
  const sample = `${spec.name}_head`;
  await createTable(session, sample, 'data String');
  try {
    const lines = INFERENCE_ROWS + (format === 'CSVWithNames' ? 1 : 0);
    await session.send(
      `INSERT INTO ${q(sample)} FORMAT RawBLOB`,
      Readable.from([await head(spec.path, lines, INFERENCE_BYTES)]),
    );
    return await session.query<{ name: string; type: string }>(
      `DESCRIBE TABLE format(${format}, (SELECT data FROM ${q(sample)})) ${settings}`,
    );
  } finally {
    await session.run(`DROP TEMPORARY TABLE IF EXISTS ${q(sample)}`);
  }
}

/**
 * Send a file on this machine to the server into the scratch table `spec.name`; the relation reads it with the
 * same columns, types and row numbers as the embedded engine's `file()` reader gives the same file.
 */
export async function uploadFile(session: UploadSession, spec: FileSourceSpec): Promise<FileSource> {
  const first = spec.firstRowNo ?? 1;
  const table = q(spec.name);
  // Row numbers are given as the rows arrive, in one stream: file order, whatever the server does with the table.
  const numbered = `rowNumberInAllBlocks() + ${first}`;
  const format = spec.format;
  switch (format.kind) {
    case 'ndjson': {
      await createTable(session, spec.name, 'row_no Int64, line String');
      await session.send(
        `INSERT INTO ${table} (row_no, line) SELECT ${numbered}, line FROM input('line String') FORMAT LineAsString`,
        fileBytes(spec.path, spec.onProgress),
      );
      return { relation: `(SELECT row_no, ${ndjsonFields(format.columns)} FROM ${table})`, params: [] };
    }
    case 'csv': {
      const name = format.header ? 'CSVWithNames' : 'CSV';
      const settings = format.delimiter ? csvDelimiterSetting(format.delimiter) : '';
      const columns = await inferCsvColumns(session, spec, name, settings);
      const structure = structureOf(columns);
      await createTable(session, spec.name, `row_no Int64, ${structure}`);
      await session.send(
        `INSERT INTO ${table} SELECT ${numbered}, * FROM input(${stringLiteral(structure)}) ${settings} FORMAT ${name}`,
        fileBytes(spec.path, spec.onProgress),
      );
      return { relation: table, params: [] };
    }
    case 'parquet': {
      const bytes = `${spec.name}_bytes`;
      await createTable(session, bytes, 'data String');
      try {
        await session.send(`INSERT INTO ${q(bytes)} FORMAT RawBLOB`, fileBytes(spec.path, spec.onProgress));
        const reader = `format(Parquet, (SELECT data FROM ${q(bytes)}))`;
        const columns = await session.query<{ name: string; type: string }>(`DESCRIBE TABLE ${reader}`);
        await createTable(session, spec.name, `row_no Int64, ${structureOf(columns)}`);
        // Not CREATE … AS SELECT: there ClickHouse (26.7) finds format()'s data from a subquery empty.
        await session.run(`INSERT INTO ${table} SELECT ${numbered}, * FROM ${reader}`);
      } finally {
        await session.run(`DROP TEMPORARY TABLE IF EXISTS ${q(bytes)}`);
      }
      return { relation: table, params: [] };
    }
    default: {
      const never: never = format;
      throw new Error(`unknown file format ${JSON.stringify(never)}`);
    }
  }
}
