import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { fromWorkingDir } from '../../config/working-dir.js';
import { SegflowError } from '../../errors.js';
import { IMPORT_FORMATS, type ImportFormat, importFile } from '../../instrument/import/import-file.js';
import { type FieldSpec, type ImportMapping, parseMapping } from '../../instrument/import/mapping.js';
import { IMPORT_PRESETS, type ImportPreset } from '../../instrument/import/presets.js';
import { withWarehouse } from '../context.js';
import { emit, log, progressBar } from '../output.js';

interface ImportFlags {
  json?: boolean;
  preset?: string;
  format?: string;
  mapping?: string;
  rejects?: string | false;
  type?: string;
  event?: string;
  eventColumn?: string;
  userIdColumn?: string;
  anonymousIdColumn?: string;
  messageIdColumn?: string;
  timestampColumn?: string;
  timestampFormat?: string;
  property: string[];
  trait: string[];
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new SegflowError(
    'USAGE',
    `${flag} must be one of ${allowed.join(', ')} (got '${value}')`,
    `e.g. ${flag} ${allowed[0]}`,
  );
}

/** `name=column` or `name=column:number` → a mapping entry. */
function columnSpecs(pairs: string[], flag: string): Record<string, FieldSpec> {
  const out: Record<string, FieldSpec> = {};
  for (const pair of pairs) {
    const m = /^([^=]+)=([^:]+)(?::(string|number|integer|boolean))?$/.exec(pair);
    if (!m)
      throw new SegflowError(
        'USAGE',
        `${flag} '${pair}' is not name=column[:type]`,
        `e.g. ${flag} price=unit_price:number`,
      );
    out[m[1]!] = m[3] ? { column: m[2]!, type: m[3] as 'string' } : m[2]!;
  }
  return out;
}

function mappingFromFlags(flags: ImportFlags): ImportMapping | undefined {
  const m: Record<string, unknown> = {};
  if (flags.mapping) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(fromWorkingDir(flags.mapping), 'utf8'));
    } catch (e) {
      throw new SegflowError(
        'IMPORT_MAPPING_INVALID',
        `cannot read mapping ${flags.mapping}: ${(e as Error).message}`,
        'pass a YAML file',
      );
    }
    Object.assign(m, parseMapping(doc, flags.mapping));
  }
  if (flags.type) m.type = { value: flags.type };
  if (flags.event) m.event = { value: flags.event };
  if (flags.eventColumn) m.event = flags.eventColumn;
  if (flags.userIdColumn) m.userId = flags.userIdColumn;
  if (flags.anonymousIdColumn) m.anonymousId = flags.anonymousIdColumn;
  if (flags.messageIdColumn) m.messageId = flags.messageIdColumn;
  if (flags.timestampColumn) {
    m.timestamp = flags.timestampFormat
      ? { column: flags.timestampColumn, format: flags.timestampFormat }
      : flags.timestampColumn;
  }
  if (flags.property.length)
    m.properties = { ...(m.properties as object), ...columnSpecs(flags.property, '--property') };
  if (flags.trait.length) m.traits = { ...(m.traits as object), ...columnSpecs(flags.trait, '--trait') };
  return Object.keys(m).length ? parseMapping(m, 'flags') : undefined;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'import a file of events (NDJSON, CSV or Parquet); bad rows go to a rejects file and the import goes on',
    )
    .argument('<file>', 'the file to import (.ndjson/.jsonl, .csv, .parquet; .gz for NDJSON)')
    .option('--preset <name>', `a known file layout: ${IMPORT_PRESETS.join(', ')}`)
    .option('--format <format>', `override the format from the extension: ${IMPORT_FORMATS.join(', ')}`)
    .option('--mapping <file.yaml>', 'column → event field mapping for CSV/Parquet (see docs/importing.md)')
    .option('--rejects <file>', 'where rejected rows go (default <file name>.rejects.ndjson here)')
    .option('--no-rejects', 'do not write a rejects file (rejects stay queryable with `segflow rejects`)')
    .option('--type <type>', 'message type of every row (default track)')
    .option('--event <name>', 'event name of every row')
    .option('--event-column <column>', 'column holding the event name')
    .option('--user-id-column <column>', 'column holding the userId')
    .option('--anonymous-id-column <column>', 'column holding the anonymousId')
    .option(
      '--message-id-column <column>',
      'column holding a unique row id (else one is derived from the row)',
    )
    .option('--timestamp-column <column>', 'column holding the event time')
    .option('--timestamp-format <format>', "strftime format of that column, e.g. '%Y%m%d'")
    .option('--property <name=column[:type]>', 'add a property from a column (repeatable)', collect, [])
    .option('--trait <name=column[:type]>', 'add a trait from a column (repeatable)', collect, [])
    .option('--json', 'print the summary as one JSON document')
    .action(async (file: string, flags: ImportFlags, cmd: Command) => {
      const preset = oneOf<ImportPreset>(flags.preset, IMPORT_PRESETS, '--preset');
      const format = oneOf<ImportFormat>(flags.format, IMPORT_FORMATS, '--format');
      const mapping = mappingFromFlags(flags);
      const bar = progressBar(`importing ${file}`);
      const summary = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
        importFile(wh, {
          path: fromWorkingDir(file),
          ...(preset ? { preset } : {}),
          ...(format ? { format } : {}),
          ...(mapping ? { mapping } : {}),
          ...(flags.rejects === false
            ? { rejectsPath: null }
            : flags.rejects
              ? { rejectsPath: flags.rejects }
              : {}),
          onProgress: (p) => bar.update(p.fraction, p.phase),
        }),
      );
      bar.done();
      if (summary.rejected > 0 && !flags.json) {
        log(
          `${summary.rejected} row(s) rejected${summary.rejectsFile ? `; see ${summary.rejectsFile}` : ''} (also: segflow rejects)`,
        );
      }
      emit(Boolean(flags.json), summary, () =>
        [
          `imported ${summary.file}`,
          `  rows read   ${summary.received.toLocaleString('en-US')}`,
          `  inserted    ${summary.inserted.toLocaleString('en-US')}`,
          `  duplicates  ${summary.duplicates.toLocaleString('en-US')} (already stored: no-ops)`,
          `  rejected    ${summary.rejected.toLocaleString('en-US')}${summary.rejectsFile ? ` → ${summary.rejectsFile}` : ''}`,
          `  time        ${summary.seconds.toFixed(2)} s (${summary.rowsPerSecond.toLocaleString('en-US')} rows/s)`,
        ].join('\n'),
      );
    });
}
