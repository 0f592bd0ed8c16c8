import type { Document, LineCounter } from 'yaml';

/**
 * The first YAML syntax error of a parsed document: its line, and "not valid YAML at column C: what is wrong". The parser reports
 * one mistake several times (an unclosed bracket also breaks the indentation of every line after it), so only the
 * first, which is where the author must look, is shown.
 *
 * @example
 * const counter = new LineCounter();
 * const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
 * const e = firstYamlError(doc, counter); // { line: 4, column: 3, message: 'not valid YAML at column 3: …' }
 */
export function firstYamlError(
  doc: Document,
  counter: LineCounter,
): { line: number; column: number; message: string } | undefined {
  const e = doc.errors[0];
  if (!e) return undefined;
  const { line, col } = counter.linePos(e.pos[0]);
  const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return { line, column: col, message: `not valid YAML at column ${col}: ${message}` };
}
