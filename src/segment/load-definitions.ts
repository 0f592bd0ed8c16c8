import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { fromWorkingDir, workingDir } from '../config/working-dir.js';
import type { SegmentDefinition } from './definition.js';
import { validateDefinition } from './validate-definition.js';

/**
 * Segment files: every `.yaml`, `.yml` and `.json` file in a folder (default `./segments`, or `segments:` in
 * segflow.config.yaml), one definition per file. Problems name the file, the line, the path inside it and the fix.
 */
export const DEFAULT_SEGMENTS_DIR = 'segments';

export interface LoadedDefinition {
  definition: SegmentDefinition;
  file: string;
}

export interface FileProblem {
  file: string;
  line?: number;
  path: string;
  message: string;
}

export interface LoadResult {
  definitions: LoadedDefinition[];
  problems: FileProblem[];
}

export function formatProblem(p: FileProblem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''} ${p.path || '(file)'}: ${p.message}`;
}

export function lineOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  path: (string | number)[],
): number | undefined {
  // The deepest node of the path that exists in the file.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
    if (n === 0 && (isMap(doc.contents) || isSeq(doc.contents)) && doc.contents.range) {
      return counter.linePos(doc.contents.range[0]).line;
    }
  }
  return undefined;
}

export function loadDefinitions(dir: string): LoadResult {
  const result: LoadResult = { definitions: [], problems: [] };
  const folder = fromWorkingDir(dir);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    result.problems.push({
      file: dir,
      path: '',
      message: `no segments folder at ${dir}: create it and add one .yaml file per segment (see docs/segments.md), or set segments: in segflow.config.yaml`,
    });
    return result;
  }
  const files = readdirSync(folder)
    .filter((f) => /\.(ya?ml|json)$/i.test(f))
    .sort();
  const byName = new Map<string, string>();
  for (const f of files) {
    const path = join(folder, f);
    const shown = relative(workingDir(), path) || path;
    const counter = new LineCounter();
    const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter: counter, prettyErrors: false });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        result.problems.push({
          file: shown,
          line: e.linePos?.[0]?.line,
          path: '',
          message: `not valid ${/\.json$/i.test(f) ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]}`,
        });
      }
      continue;
    }
    const { definition, problems } = validateDefinition(doc.toJS());
    for (const p of problems) {
      result.problems.push({
        file: shown,
        line: lineOf(doc, counter, p.path),
        path: p.path.join('.'),
        message: p.message,
      });
    }
    if (!definition) continue;
    const earlier = byName.get(definition.name);
    if (earlier) {
      result.problems.push({
        file: shown,
        line: lineOf(doc, counter, ['name']),
        path: 'name',
        message: `'${definition.name}' is already the name of the segment in ${earlier}; names must be unique`,
      });
      continue;
    }
    byName.set(definition.name, shown);
    result.definitions.push({ definition, file: shown });
  }
  return result;
}
