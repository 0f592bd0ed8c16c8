import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { DEFAULT_DIALECT } from '../engine/open.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { featureSource } from '../model/feature-catalog.js';
import { compileSegments } from './compile.js';
import type { SegmentDefinition } from './definition.js';
import { type FileProblem, lineOf, loadDefinitions } from './load-definitions.js';
import { validateDefinition } from './validate-definition.js';

/**
 * A segment being written (the dashboard's builder): checked exactly as `segflow segments check` checks a file — the
 * same schema, then compiled together with the folder's other segments so references and cycles are caught — sized
 * without writing anything, and saved as one YAML file in the segments folder, the file a person would have written.
 */
export interface DraftCheck {
  definition?: SegmentDefinition;
  problems: FileProblem[];
  /** The file it would be saved as. */
  file: string;
}

/** The other segments of the folder (a draft replaces the one of its own name). */
function othersIn(dir: string, name: string | undefined): SegmentDefinition[] {
  return loadDefinitions(dir)
    .definitions.map((d) => d.definition)
    .filter((d) => d.name !== name);
}

export function checkSegmentDraft(dir: string, text: string): DraftCheck {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const file = join(dir, 'draft.yaml');
  if (doc.errors.length > 0) {
    return {
      file,
      problems: doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0]?.line,
        path: '',
        message: `not valid YAML: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const { definition, problems } = validateDefinition(doc.toJS());
  const at = definition ? join(dir, `${definition.name}.yaml`) : file;
  const found: FileProblem[] = problems.map((p) => ({
    file: at,
    line: lineOf(doc, counter, p.path),
    path: p.path.join('.'),
    message: p.message,
  }));
  if (!definition) return { file: at, problems: found };
  try {
    compileSegments(DEFAULT_DIALECT, [...othersIn(dir, definition.name), definition], {
      asOf: new Date(),
      features: featureSource(DEFAULT_DIALECT),
    });
  } catch (e) {
    if (!(e instanceof SegflowError && e.code === 'SEGMENT_INVALID')) throw e;
    found.push({ file: at, path: '', message: `${e.message}${e.hint ? ` (${e.hint})` : ''}` });
    return { file: at, problems: found };
  }
  return { definition, problems: found, file: at };
}

function mustBeValid(check: DraftCheck): SegmentDefinition {
  if (!check.definition || check.problems.length > 0) {
    throw new SegflowError(
      'SEGMENT_INVALID',
      check.problems.map((p) => `${p.path || '(file)'}: ${p.message}`).join('; '),
      'fix the definition (docs/segments.md lists every condition), then try again',
    );
  }
  return check.definition;
}

/** Size and a sample of members of a draft as of a time (default: the latest feature refresh, else now). */
export async function estimateSegmentDraft(
  wh: Warehouse,
  dir: string,
  text: string,
  options: { asOf?: Date; sample?: number } = {},
): Promise<{ asOf: Date; size: number; population: number; sample: string[] }> {
  const definition = mustBeValid(checkSegmentDraft(dir, text));
  let asOf = options.asOf;
  if (!asOf) {
    const [row] = await wh.query<{ as_of: Date | null }>('SELECT max(as_of) AS as_of FROM features');
    asOf = row?.as_of ?? new Date();
  }
  // Only the draft's own column (the folder's segments are there for its references), counted and sampled in
  // one pass: the events are read once, for the aggregates this draft needs.
  const d = wh.dialect;
  const compiled = compileSegments(d, [...othersIn(dir, definition.name), definition], {
    asOf,
    features: featureSource(d),
    only: [definition.name],
  });
  const member = d.quoteIdent(compiled.columns[0]!.column);
  const rows = await wh.query<{ person_id: string | null; size: bigint; population: bigint }>(
    `WITH draft AS ${d.materialized()} (${compiled.sql})
     SELECT s.person_id, c.size, c.population
     FROM (SELECT ${d.aggregateIf('count(*)', member)} AS size, count(*) AS population FROM draft) c
     LEFT JOIN (SELECT person_id FROM draft WHERE ${member} ORDER BY person_id LIMIT ${Math.trunc(options.sample ?? 10)}) s ON TRUE
     ORDER BY s.person_id`,
    compiled.params,
  );
  return {
    asOf,
    size: Number(rows[0]?.size ?? 0),
    population: Number(rows[0]?.population ?? 0),
    sample: rows.flatMap((r) => (r.person_id === null ? [] : [r.person_id])),
  };
}

/** Write a valid draft to `<dir>/<name>.yaml` (replacing the segment's file of that name). */
export function saveSegmentDraft(
  dir: string,
  text: string,
): { file: string; definition: SegmentDefinition; created: boolean } {
  const check = checkSegmentDraft(dir, text);
  const definition = mustBeValid(check);
  const existing = loadDefinitions(dir).definitions.find((d) => d.definition.name === definition.name);
  const file = existing ? existing.file : check.file;
  mkdirSync(dir, { recursive: true });
  // The text as written (comments kept) when it is YAML; what a person would have saved.
  writeFileSync(file, text.trim().startsWith('{') ? stringify(JSON.parse(text)) : `${text.trimEnd()}\n`);
  return { file, definition, created: !existing };
}
