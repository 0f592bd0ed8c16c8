import { SegflowError } from '../errors.js';
import { nearestNames } from '../shared/did-you-mean.js';
import type { FeatureColumn } from './feature-source.js';

/**
 * Feature expressions in segment definitions: one feature (`rfm.group`), or arithmetic over numeric features and
 * numbers (`rfm.r + rfm.f`, `(orders.total / orders.count) * 2`). Division by zero gives no value (the condition is
 * false). Compiled to SQL over the feature columns; numbers are inlined only after being parsed as numbers.
 */
type Token = { kind: 'num'; value: number } | { kind: 'name'; value: string } | { kind: 'op'; value: string };

const NAME = /^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$/i;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)|([-+*/()]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw invalid(text, `unexpected '${text.slice(at).trim()[0]}' at position ${at + 1}`);
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) {
      if (!NAME.test(m[2])) throw invalid(text, `'${m[2]}' is not a feature name`);
      tokens.push({ kind: 'name', value: m[2] });
    } else tokens.push({ kind: 'op', value: m[3]! });
    at = re.lastIndex;
  }
  return tokens;
}

function invalid(text: string, why: string): SegflowError {
  return new SegflowError(
    'SEGMENT_INVALID',
    `feature expression '${text}': ${why}`,
    'write a feature name (rfm.group) or arithmetic over numeric features: rfm.r + rfm.f',
  );
}

export function parseFeatureExpression(
  text: string,
  lookup: (name: string) => FeatureColumn | undefined,
  known: readonly string[],
): FeatureColumn {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const column = (name: string): FeatureColumn => {
    const c = lookup(name);
    if (c) return c;
    const near = nearestNames(name, known, 3);
    throw new SegflowError(
      'SEGMENT_INVALID',
      `feature expression '${text}': there is no feature '${name}'`,
      `did you mean ${near.join(', ')}? \`segflow features --list\` shows them all`,
    );
  };
  const numeric = (c: FeatureColumn, name: string): string => {
    if (c.kind !== 'number')
      throw invalid(text, `'${name}' is a ${c.kind}, not a number, so it cannot take part in arithmetic`);
    return c.sql;
  };
  // Parsing with a flag for "is this a lone feature", so that labels work alone but not in arithmetic.
  const factor = (): { sql: string; lone?: FeatureColumn; name?: string } => {
    const t = tokens[i++];
    if (!t) throw invalid(text, 'it ends too early');
    if (t.kind === 'num') return { sql: String(t.value) };
    if (t.kind === 'name') {
      const c = column(t.value);
      return { sql: c.sql, lone: c, name: t.value };
    }
    if (t.value === '(') {
      const inner = expr();
      if (peek()?.value !== ')') throw invalid(text, "a '(' is not closed");
      i++;
      return { sql: `(${inner.sql})`, lone: inner.lone, name: inner.name };
    }
    if (t.value === '-') {
      const f = factor();
      return { sql: `(-${f.lone ? numeric(f.lone, f.name!) : f.sql})` };
    }
    throw invalid(text, `unexpected '${t.value}'`);
  };
  const term = () => {
    let left = factor();
    while (peek()?.value === '*' || peek()?.value === '/') {
      const op = tokens[i++]!.value;
      const right = factor();
      const l = left.lone ? numeric(left.lone, left.name!) : left.sql;
      const r = right.lone ? numeric(right.lone, right.name!) : right.sql;
      left = { sql: op === '/' ? `(${l} / NULLIF(${r}, 0))` : `(${l} * ${r})` };
    }
    return left;
  };
  const expr = (): { sql: string; lone?: FeatureColumn; name?: string } => {
    let left = term();
    while (peek()?.value === '+' || peek()?.value === '-') {
      const op = tokens[i++]!.value;
      const right = term();
      const l = left.lone ? numeric(left.lone, left.name!) : left.sql;
      const r = right.lone ? numeric(right.lone, right.name!) : right.sql;
      left = { sql: `(${l} ${op} ${r})` };
    }
    return left;
  };
  const result = expr();
  if (i < tokens.length) throw invalid(text, `unexpected '${tokens[i]!.value}'`);
  return result.lone ?? { sql: result.sql, kind: 'number' };
}
