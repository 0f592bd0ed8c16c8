import { isSegflowError } from '../errors.js';
import { currentInvocation } from './invocation.js';

/** Standard output of the command: the process's own, or the caller's when the server runs it (invocation.ts). */
export function writeStdout(text: string): void {
  const invocation = currentInvocation();
  if (invocation) invocation.stdout(text);
  else process.stdout.write(text);
}

export function writeStderr(text: string): void {
  const invocation = currentInvocation();
  if (invocation) invocation.stderr(text);
  else process.stderr.write(text);
}

/** JSON that survives Dates and bigints (and JSON columns, which the engine returns as text). */
export function toJsonText(value: unknown, pretty = true): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), pretty ? 2 : undefined);
}

/** The CLI contract: with --json exactly one JSON document goes to stdout; everything else goes to stderr. */
export function emit(json: boolean, data: unknown, human: () => string): void {
  writeStdout(`${json ? toJsonText(data) : human()}\n`);
}

export function log(message: string): void {
  writeStderr(`${message}\n`);
}

export function reportError(e: unknown, json: boolean): void {
  const err = isSegflowError(e)
    ? e.toJSON()
    : {
        code: 'INTERNAL',
        message: e instanceof Error ? e.message : String(e),
        hint: 'this is a bug in segflow; please report it with the command you ran',
      };
  if (json) writeStdout(`${toJsonText({ error: err })}\n`);
  writeStderr(`error: ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ''}\n`);
  if (!isSegflowError(e) && process.env.SEGFLOW_DEBUG && e instanceof Error) writeStderr(`${e.stack}\n`);
}

/** A one-line progress bar on stderr, drawn only when stderr is a terminal (quiet in pipes and CI). */
export function progressBar(label: string): {
  update(fraction: number | undefined, detail?: string): void;
  done(): void;
} {
  const tty = currentInvocation()?.stderrIsTTY ?? process.stderr.isTTY === true;
  let last = '';
  return {
    update(fraction, detail = '') {
      if (!tty) return;
      const width = 30;
      const bar =
        fraction === undefined
          ? '·'.repeat(width)
          : '█'.repeat(Math.round(fraction * width)).padEnd(width, '░');
      const pct = fraction === undefined ? '' : ` ${(fraction * 100).toFixed(0).padStart(3)}%`;
      const line = `${label} ${bar}${pct} ${detail}`;
      if (line !== last) writeStderr(`\r${line.padEnd(last.length)}`);
      last = line;
    },
    done() {
      if (tty && last) writeStderr('\n');
    },
  };
}

export function table(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown) =>
    v === null || v === undefined
      ? ''
      : v instanceof Date
        ? v.toISOString()
        : typeof v === 'object'
          ? toJsonText(v, false)
          : String(v);
  const widths = cols.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const fmt = (vals: string[]) => vals.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i]!)).join('  ');
  return [
    fmt([...cols]),
    fmt(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => fmt(cols.map((c) => cell(r[c])))),
  ].join('\n');
}
