import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** Lines of a text file (LF or CRLF, optionally gzip), numbered from 1, skipping blank lines. */
export async function* numberedLines(path: string): AsyncGenerator<[number, string]> {
  const file = createReadStream(path);
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() !== '') yield [n, line];
  }
}

export interface LineCensus {
  /** Lines with content. */
  nonBlank: number;
  /** Empty or whitespace-only lines (they shift row positions, so the fast path cannot name line numbers). */
  blank: number;
  bytes: number;
}

/** Count lines at memory speed without decoding text: the NDJSON fast path checks the engine read every one. */
export async function lineCensus(path: string): Promise<LineCensus> {
  let nonBlank = 0;
  let blank = 0;
  let bytes = 0;
  let lineHasContent = false;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!lineHasContent) {
        for (let i = start; i < end; i++) {
          const c = chunk[i]!;
          if (c !== 32 && c !== 9 && c !== 13) {
            lineHasContent = true;
            break;
          }
        }
      }
      if (nl === -1) break;
      if (lineHasContent) nonBlank++;
      else blank++;
      lineHasContent = false;
      start = nl + 1;
    }
  }
  if (lineHasContent) nonBlank++;
  return { nonBlank, blank, bytes };
}
