/** The examples in README.md and docs/*.md: fenced blocks, and shell command lines split as a shell would. */
import { readdirSync, readFileSync } from 'node:fs';

export const REPO = new URL('../../', import.meta.url).pathname;

export interface Block {
  file: string;
  line: number;
  lang: string;
  text: string;
  /** The prose paragraph just before the block ("The first command prints:"). */
  before: string;
}

export function docFiles(): string[] {
  return [
    'README.md',
    ...readdirSync(`${REPO}docs`)
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
}

export function blocks(file: string): Block[] {
  const lines = readFileSync(`${REPO}${file}`, 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    let p = start - 1;
    while (p >= 0 && lines[p]!.trim() === '') p--;
    const para: string[] = [];
    for (; p >= 0 && lines[p]!.trim() !== ''; p--) para.unshift(lines[p]!);
    out.push({ file, line: start + 1, lang: open[1]!, text: body.join('\n'), before: para.join(' ') });
  }
  return out;
}

/** One command line: continuations joined, the trailing comment dropped, words split with shell quoting. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unclosed quote in: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '#' && !inWord) {
      break;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The commands of a shell block: `\` continuations joined, comment lines skipped, `a && b` split. */
export function commands(text: string): string[][] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  return joined
    .split('\n')
    .flatMap((l) => l.split(' && '))
    .map(shellWords)
    .filter((w) => w.length > 0);
}

/** A block of commands: sh/shell/bash, or unlabeled with a first command line starting with segflow or npm. */
export function isCommandBlock(b: Block): boolean {
  if (!['', 'sh', 'shell', 'bash'].includes(b.lang)) return false;
  const first = b.text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  return first !== undefined && /^(segflow|npm) /.test(first.trim());
}
