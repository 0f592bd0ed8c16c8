import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';

/**
 * A feature table as people have it, read into columns of raw cells (text, number, boolean or null) before any
 * typing decision: the encoder decides per column what it is. CSV is parsed here rather than by the engine's sniffer,
 * so that mixed line endings, a missing final newline or a ragged row give a short error (or simply work) instead of
 * a page of sniffer output. Parquet is read through the warehouse.
 */
export type Cell = string | number | boolean | null;

export interface RawTable {
  path: string;
  names: string[];
  /** columns[j][i]: row i of column j. */
  columns: Cell[][];
  rows: number;
}

function invalid(message: string, fix: string): SegflowError {
  return new SegflowError('MODEL_DATA_INVALID', message, fix);
}

const DELIMITERS = [',', ';', '\t', '|'];

/** The delimiter that splits the header line into the most fields (outside quotes). */
function sniffDelimiter(text: string): string {
  const end = text.search(/\r|\n/);
  const header = end < 0 ? text : text.slice(0, end);
  let best = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    let count = 0;
    let quoted = false;
    for (const ch of header) {
      if (ch === '"') quoted = !quoted;
      else if (ch === d && !quoted) count++;
    }
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/**
 * RFC 4180 fields with `"` quotes (doubled inside), any of CRLF, LF or CR ending a record, blank lines skipped.
 * Every record must have as many fields as the header.
 */
export function parseCsv(text: string, path: string): RawTable {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw invalid(`'${path}' is empty`, 'give a CSV file with a header line and rows');
  const delimiter = sniffDelimiter(body);
  const d = delimiter.charCodeAt(0);
  let names: string[] | null = null;
  let columns: Cell[][] = [];
  let record: string[] = [];
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const n = body.length;
  const endRecord = () => {
    if (record.length === 1 && record[0] === '') {
      record = [];
      return; // a blank line
    }
    if (!names) {
      names = record.map((h) => h.trim());
      const seen = new Set<string>();
      for (const [j, h] of names.entries()) {
        if (h === '') throw invalid(`column ${j + 1} of '${path}' has no name`, 'give every column a header');
        if (seen.has(h))
          throw invalid(`'${path}' has two columns named '${h}'`, 'give columns distinct names');
        seen.add(h);
      }
      columns = names.map(() => []);
    } else {
      if (record.length !== names.length) {
        throw invalid(
          `line ${recordLine} of '${path}' has ${record.length} fields, the header has ${names.length} (delimiter '${delimiter === '\t' ? '\\t' : delimiter}')`,
          'quote fields that contain the delimiter, and give every row the header’s columns',
        );
      }
      for (let j = 0; j < record.length; j++) columns[j]!.push(record[j]!);
    }
    record = [];
  };
  while (i <= n) {
    if (i === n) {
      if (record.length > 0) endRecord();
      break;
    }
    let c = body.charCodeAt(i);
    if (record.length === 0) recordLine = line;
    let field: string;
    if (c === 34) {
      // A quoted field: up to the closing quote; "" is a quote.
      let out = '';
      let from = i + 1;
      for (;;) {
        const q = body.indexOf('"', from);
        if (q < 0) {
          throw invalid(
            `line ${recordLine} of '${path}' opens a quote that is never closed`,
            'close the quote, or double quotes inside a quoted field ("")',
          );
        }
        out += body.slice(from, q);
        if (body.charCodeAt(q + 1) === 34) {
          out += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      for (const ch of out) if (ch === '\n') line++;
      field = out;
      c = body.charCodeAt(i);
      if (i < n && c !== d && c !== 10 && c !== 13) {
        throw invalid(
          `line ${recordLine} of '${path}' has text after a closing quote`,
          'quote the whole field, and double quotes inside it ("")',
        );
      }
    } else {
      let j = i;
      while (j < n) {
        const cj = body.charCodeAt(j);
        if (cj === d || cj === 10 || cj === 13) break;
        j++;
      }
      field = body.slice(i, j);
      i = j;
      c = body.charCodeAt(i);
    }
    record.push(field);
    if (i >= n) continue;
    if (c === d) {
      i++;
      if (i === n) record.push('');
      continue;
    }
    // A record ends at CRLF, LF or a lone CR, whichever the line uses.
    i += c === 13 && body.charCodeAt(i + 1) === 10 ? 2 : 1;
    line++;
    endRecord();
  }
  if (!names) throw invalid(`'${path}' has no header line`, 'give a CSV file with a header line and rows');
  const header: string[] = names;
  return { path, names: header, columns, rows: columns[0]?.length ?? 0 };
}

async function readParquet(wh: Warehouse, path: string): Promise<RawTable> {
  let rows: Record<string, unknown>[];
  try {
    rows = await wh.query(`SELECT * FROM ${wh.dialect.readParquet('?')}`, [path]);
  } catch (e) {
    throw invalid(
      `cannot read '${path}' as Parquet: ${(e as Error).message.split('\n')[0]}`,
      'check the file',
    );
  }
  const described = await wh.query<{ column_name: string }>(
    `DESCRIBE SELECT * FROM ${wh.dialect.readParquet('?')}`,
    [path],
  );
  const names = described.map((c) => c.column_name);
  const columns = names.map((name) =>
    rows.map((r): Cell => {
      const v = r[name];
      if (v === null || v === undefined) return null;
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
      if (typeof v === 'bigint') return Number(v);
      if (v instanceof Date) return v.getTime();
      return String(v);
    }),
  );
  return { path, names, columns, rows: rows.length };
}

/** Read a CSV/TSV (parsed here) or Parquet file (through the warehouse) into raw columns. */
export async function readTable(wh: Warehouse, path: string): Promise<RawTable> {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return readParquet(wh, path);
  if (ext !== '.csv' && ext !== '.tsv' && ext !== '.txt') {
    throw invalid(`'${path}' is neither CSV nor Parquet`, 'give a .csv, .tsv or .parquet file');
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw invalid(`cannot read '${path}': ${(e as Error).message}`, 'check the path');
  }
  return parseCsv(text, path);
}
