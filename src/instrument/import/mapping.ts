import { z } from 'zod';
import { Params } from '../../engine/params.js';

export { Params };

import type { Dialect } from '../../engine/dialect.js';
import { SegflowError } from '../../errors.js';
import { SCALAR_FIELDS, type ScalarField, STAGE_FIELDS } from '../ingest.js';

/**
 * A mapping from a table's columns (CSV, Parquet) to Segment message fields. Written in YAML, e.g.
 *
 *   type: track                       # a constant…
 *   event: { column: kind, map: { view: Product Viewed } }   # …or a column, with value renames
 *   userId: customer_id
 *   timestamp: { column: day, format: '%Y%m%d' }
 *   properties:
 *     price: { column: price, type: number }
 */
const FieldSpec = z.union([
  z.string().min(1).describe('a column name'),
  z
    .object({
      column: z.string().min(1),
      type: z.enum(['string', 'number', 'integer', 'boolean']).optional(),
      format: z.string().min(1).optional().describe("strftime format of a timestamp column, e.g. '%Y%m%d'"),
      map: z
        .record(z.string(), z.string())
        .optional()
        .describe('rename values; values not listed pass through'),
    })
    .strict(),
  z.object({ value: z.union([z.string(), z.number(), z.boolean()]) }).strict(),
]);
export type FieldSpec = z.infer<typeof FieldSpec>;

export const ImportMapping = z
  .object({
    type: FieldSpec.optional(),
    event: FieldSpec.optional(),
    name: FieldSpec.optional(),
    messageId: FieldSpec.optional(),
    userId: FieldSpec.optional(),
    anonymousId: FieldSpec.optional(),
    groupId: FieldSpec.optional(),
    previousId: FieldSpec.optional(),
    timestamp: FieldSpec.optional(),
    receivedAt: FieldSpec.optional(),
    properties: z.record(z.string(), FieldSpec).optional(),
    traits: z.record(z.string(), FieldSpec).optional(),
    csv: z
      .object({ delimiter: z.string().min(1).max(4).optional(), header: z.boolean().optional() })
      .strict()
      .optional(),
  })
  .strict();
export type ImportMapping = z.infer<typeof ImportMapping>;

export function parseMapping(input: unknown, where: string): ImportMapping {
  const parsed = ImportMapping.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map(
    (i) => `${where}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`,
  );
  throw new SegflowError(
    'IMPORT_MAPPING_INVALID',
    `the import mapping is invalid:\n  ${lines.join('\n  ')}`,
    'a field is a column name, {column, type?, format?, map?} or {value}; see docs/importing.md',
  );
}

/**
 * Bound values for numbered placeholders (`$1`, `$2`, …), which — unlike `?` — may appear more than once in the text.
 */
/** Scalar fields a mapping may set (the client-side originalTimestamp and sentAt have no place in history). */
const TOP_LEVEL = SCALAR_FIELDS.filter(
  (f): f is Exclude<ScalarField, 'originalTimestamp' | 'sentAt'> =>
    f !== 'originalTimestamp' && f !== 'sentAt',
);

/**
 * Build the stage relation for a mapped source: `source` yields `row_no` and text columns named as in the mapping
 * (and optionally `source_problems`). Conversion failures (a number column that is not a number) become located
 * problems on the row rather than silent NULLs.
 */
export function mappedStageSource(
  d: Dialect,
  source: string,
  columns: readonly string[],
  mapping: ImportMapping,
  params: Params,
): string {
  const problems: string[] = [];
  const known = new Set(columns);
  const col = (name: string, path: string): string => {
    if (!known.has(name)) {
      throw new SegflowError(
        'IMPORT_MAPPING_INVALID',
        `the mapping's ${path} names column '${name}', which the file does not have`,
        `the file's columns are: ${columns.filter((c) => c !== 'row_no' && c !== 'source_problems').join(', ')}`,
      );
    }
    return `CAST(${d.quoteIdent(name)} AS VARCHAR)`;
  };

  /** The field as a JSON expression; conversion failures add a problem. */
  const valueJson = (spec: FieldSpec, path: string): string => {
    if (typeof spec === 'string') return d.toJsonValue(col(spec, path));
    if ('value' in spec) return d.toJsonValue(params.add(spec.value));
    let expr = col(spec.column, path);
    if (spec.map && Object.keys(spec.map).length) {
      const whens = Object.entries(spec.map).map(
        ([from, to]) => `WHEN ${params.add(from)} THEN ${params.add(to)}`,
      );
      expr = `coalesce(CASE ${expr} ${whens.join(' ')} END, ${expr})`;
    }
    if (spec.format) {
      // Unparseable text passes through unchanged so that validation rejects the row and names the value.
      const parsed = d.parseTimestampFormat(expr, params.add(spec.format));
      return d.toJsonValue(`CASE WHEN ${parsed} IS NOT NULL THEN ${d.isoText(parsed)} ELSE ${expr} END`);
    }
    const type = spec.type ?? 'string';
    switch (type) {
      case 'string':
        return d.toJsonValue(expr);
      case 'number':
      case 'integer': {
        const cast = d.toDouble(expr);
        const bad = type === 'integer' ? `(${cast} IS NULL OR ${cast} <> floor(${cast}))` : `${cast} IS NULL`;
        const what = type === 'integer' ? 'an integer' : 'a number';
        const columnName = params.add(spec.column);
        problems.push(
          `CASE WHEN nullif(trim(${expr}), '') IS NOT NULL AND ${bad} THEN '$.${path}: ''' || left(${expr}, 40) || ''' is not ${what} (column ' || ${columnName} || ')' END`,
        );
        return d.toJsonValue(type === 'integer' ? `CAST(${cast} AS BIGINT)` : cast);
      }
      case 'boolean':
        return d.toJsonValue(
          `CASE lower(trim(${expr})) WHEN 'true' THEN TRUE WHEN '1' THEN TRUE WHEN 'yes' THEN TRUE WHEN 'false' THEN FALSE WHEN '0' THEN FALSE WHEN 'no' THEN FALSE END`,
        );
      default: {
        const never: never = type;
        throw new Error(`unknown type ${String(never)}`);
      }
    }
  };

  const objectJson = (fields: Record<string, FieldSpec> | undefined, path: string): string | null => {
    if (!fields || Object.keys(fields).length === 0) return null;
    return d.jsonObjectOf(
      Object.entries(fields).map(
        ([key, spec]) => [params.add(key), valueJson(spec, `${path}.${key}`)] as const,
      ),
    );
  };

  const select: string[] = ['row_no'];
  for (const field of STAGE_FIELDS) {
    let json: string | null = null;
    if ((TOP_LEVEL as readonly string[]).includes(field)) {
      const spec =
        mapping[field as (typeof TOP_LEVEL)[number]] ?? (field === 'type' ? { value: 'track' } : undefined);
      if (spec) json = valueJson(spec, field);
    } else if (field === 'properties') json = objectJson(mapping.properties, 'properties');
    else if (field === 'traits') json = objectJson(mapping.traits, 'traits');
    select.push(`CAST(${json ?? 'NULL'} AS ${d.columnType('json')}) AS ${d.quoteIdent(field)}`);
  }
  const upstream = columns.includes('source_problems') ? 'source_problems' : d.noTextList();
  select.push(`${d.concatArrays(upstream, d.compactArray(problems))} AS source_problems`);
  return `SELECT ${select.join(', ')} FROM (${source})`;
}
