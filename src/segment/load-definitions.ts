import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { fromWorkingDir, workingDir } from '../config/working-dir.js';
import { firstYamlError } from '../config/yaml-syntax.js';
import { DEFAULT_DIALECT } from '../engine/open.js';
import { SegflowError } from '../errors.js';
import { featureSource } from '../model/feature-catalog.js';
import { didYouMeanSuffix } from '../shared/did-you-mean.js';
import { compileSegments, type FeatureSource } from './compile.js';
import type { SegmentDefinition } from './definition.js';
import { definitionReferences } from './definition-references.js';
import { parseFeatureExpression } from './feature-expression.js';
import { validateDefinition } from './validate-definition.js';

/**
 * Segment files: every `.yaml`, `.yml` and `.json` file in a folder (default `./segments`, or `segments:` in
 * segflow.config.yaml), one definition per file. Problems name the file, the line, the path inside it and the fix.
 * Every file is checked on its own and for what it names — features that exist, segments that exist and no cycle —
 * so all problems are reported at once, and a broken file keeps out only itself and the segments that refer to it.
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
  /** Segments left out for problems, by name (when the name could be read) and file. */
  unusable?: { name: string; file: string }[];
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

/** A file that parsed and validated, kept with its document for the lines of later problems. */
interface Parsed {
  definition: SegmentDefinition;
  file: string;
  line: (path: (string | number)[]) => number | undefined;
}

/**
 * Load and check every segment file of a folder; never throws for a problem in a file.
 *
 * @example
 * const { definitions, problems } = loadDefinitions('segments');
 * for (const p of problems) console.error(formatProblem(p)); // "segments/vip.yaml:4 where.feature: there is no feature …"
 */
export function loadDefinitions(dir: string, options: { features?: FeatureSource } = {}): LoadResult {
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
  const byName = new Map<string, Parsed>();
  /** Names of segments whose files have problems (when the name itself could be read). */
  const brokenNames = new Map<string, string>();
  for (const f of files) {
    const path = join(folder, f);
    const shown = relative(workingDir(), path) || path;
    const counter = new LineCounter();
    const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter: counter, prettyErrors: false });
    const syntax = firstYamlError(doc, counter);
    if (syntax) {
      // One mistake is reported several times by the parser; the first is where to look.
      const message = /\.json$/i.test(f) ? syntax.message.replace('YAML', 'JSON') : syntax.message;
      result.problems.push({ file: shown, line: syntax.line, path: '', message });
      continue;
    }
    const raw = doc.toJS() as { name?: unknown } | null;
    const { definition, problems } = validateDefinition(raw);
    for (const p of problems) {
      result.problems.push({
        file: shown,
        line: lineOf(doc, counter, p.path),
        path: p.path.join('.'),
        message: p.message,
      });
    }
    if (!definition) {
      if (typeof raw?.name === 'string') brokenNames.set(raw.name, shown);
      continue;
    }
    const earlier = byName.get(definition.name);
    if (earlier) {
      result.problems.push({
        file: shown,
        line: lineOf(doc, counter, ['name']),
        path: 'name',
        message: `'${definition.name}' is already the name of the segment in ${earlier.file}; names must be unique`,
      });
      continue;
    }
    byName.set(definition.name, {
      definition,
      file: shown,
      line: (p) => lineOf(doc, counter, p),
    });
  }
  const usable = checkReferences(byName, brokenNames, options.features ?? featureSource(DEFAULT_DIALECT));
  result.problems.push(...usable.problems);
  result.unusable = [...brokenNames].map(([name, file]) => ({ name, file }));
  for (const p of byName.values()) {
    if (usable.ok.has(p.definition.name)) result.definitions.push({ definition: p.definition, file: p.file });
    else result.unusable.push({ name: p.definition.name, file: p.file });
  }
  result.problems.sort((a, b) =>
    a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : a.file < b.file ? -1 : 1,
  );
  return result;
}

/**
 * The features and segments each definition names: unknown features, segments that do not exist (or whose file has
 * problems) and cycles are problems at the line that names them; a segment that refers to an unusable one is
 * unusable too. What the compiler would still refuse is found by compiling each segment with the ones it refers to.
 */
function checkReferences(
  byName: ReadonlyMap<string, Parsed>,
  brokenNames: ReadonlyMap<string, string>,
  features: FeatureSource,
): { ok: Set<string>; problems: FileProblem[] } {
  const problems: FileProblem[] = [];
  const bad = new Set<string>();
  const fail = (p: Parsed, path: (string | number)[], message: string) => {
    problems.push({ file: p.file, line: p.line(path), path: path.join('.'), message });
    bad.add(p.definition.name);
  };
  const refs = new Map([...byName].map(([name, p]) => [name, definitionReferences(p.definition.where)]));
  const known = [...byName.keys()];
  for (const [name, p] of byName) {
    const r = refs.get(name)!;
    for (const f of r.features) {
      try {
        parseFeatureExpression(f.name, (n) => features.column(n), features.names());
      } catch (e) {
        if (!(e instanceof SegflowError)) throw e;
        fail(p, f.path, `${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      }
    }
    for (const s of r.segments) {
      if (byName.has(s.name)) continue;
      const broken = brokenNames.get(s.name);
      fail(
        p,
        s.path,
        broken
          ? `refers to segment '${s.name}', whose file ${broken} has problems: fix that file first`
          : `refers to segment '${s.name}', which does not exist; use one of ${known.join(', ')}, or add a file named ${s.name}.yaml${didYouMeanSuffix(s.name, known)}`,
      );
    }
  }
  // Cycles: a depth-first walk; each segment on a cycle is told the whole cycle.
  const state = new Map<string, 'open' | 'done'>();
  const visit = (name: string, stack: string[]): void => {
    if (state.get(name) === 'done' || !byName.has(name)) return;
    if (state.get(name) === 'open') {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      for (const member of cycle.slice(0, -1)) {
        const p = byName.get(member)!;
        const next = cycle[cycle.indexOf(member) + 1]!;
        const ref = refs.get(member)!.segments.find((s) => s.name === next)!;
        if (!bad.has(member)) {
          fail(
            p,
            ref.path,
            `segments refer to each other in a cycle: ${cycle.join(' → ')}; a segment cannot (directly or through others) be defined by itself`,
          );
        }
      }
      return;
    }
    state.set(name, 'open');
    for (const s of refs.get(name)!.segments) visit(s.name, [...stack, name]);
    state.set(name, 'done');
  };
  for (const name of byName.keys()) visit(name, []);
  // A segment that refers to an unusable one is unusable, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, p] of byName) {
      if (bad.has(name)) continue;
      const ref = refs.get(name)!.segments.find((s) => bad.has(s.name));
      if (!ref) continue;
      fail(
        p,
        ref.path,
        `refers to segment '${ref.name}' (${byName.get(ref.name)!.file}), which has problems: fix that file first`,
      );
      changed = true;
    }
  }
  // What the compiler still refuses (an account condition inside another, …), per segment with what it refers to.
  for (const [name, p] of byName) {
    if (bad.has(name)) continue;
    const closure = new Map<string, SegmentDefinition>();
    const add = (n: string) => {
      if (closure.has(n)) return;
      closure.set(n, byName.get(n)!.definition);
      for (const s of refs.get(n)!.segments) add(s.name);
    };
    add(name);
    try {
      compileSegments(DEFAULT_DIALECT, [...closure.values()], { asOf: new Date(0), features });
    } catch (e) {
      if (!(e instanceof SegflowError)) throw e;
      fail(p, ['where'], `${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    }
  }
  return { ok: new Set(known.filter((n) => !bad.has(n))), problems };
}
