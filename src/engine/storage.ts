import type { Dialect } from './dialect.js';
import type { FileFormat, FileSource, FileSourceSpec, PortRenderer, Statement, Storage } from './ports.js';
import type { Row, Warehouse } from './warehouse.js';

/** The dialect's reader of a file in `format`, its path bound to the placeholder `path`. */
export function fileReader(d: Dialect, format: FileFormat, path: string): string {
  switch (format.kind) {
    case 'ndjson':
      return d.readNdjson(path, format.columns);
    case 'csv':
      return d.readCsv(path, {
        header: format.header,
        ...(format.delimiter ? { delimiter: format.delimiter } : {}),
      });
    case 'parquet':
      return d.readParquet(path);
    default: {
      const never: never = format;
      throw new Error(`unknown file format ${JSON.stringify(never)}`);
    }
  }
}

/**
 * A file as a relation read where it lies, by the engine's own reader (fast: parallel, nothing copied): for engines
 * that read this machine's disk. Rows are numbered in the order the reader yields them, which is file order.
 */
export function localFileSource(d: Dialect, spec: FileSourceSpec): FileSource {
  const first = spec.firstRowNo ?? 1;
  const rowNo = first === 1 ? d.rowNumber() : `(${d.rowNumber()} + ${first - 1})`;
  return {
    relation: `(SELECT ${rowNo} AS row_no, * FROM ${fileReader(d, spec.format, '$1')})`,
    params: [spec.path],
  };
}

/**
 * The ports run on a warehouse (or a transaction): the engine's renderer says what to execute, this runs it in order.
 * Engine-neutral, so an adapter only writes its renderer (and overrides a port here only if SQL cannot express it).
 */
export function createStorage(
  wh: Warehouse,
  render: PortRenderer,
  overrides: Partial<Pick<Storage, 'createScratch' | 'stageFile'>> = {},
): Storage {
  /** A statement's count: the rows it changed, or (a `count` statement) the number it selects. */
  const runOne = async (s: Statement): Promise<number> => {
    if (s.role !== 'count') return wh.run(s.sql, s.params);
    const [row] = await wh.query(s.sql, s.params);
    return Number(Object.values(row ?? {})[0] ?? 0);
  };
  /** An operation's count: its `count` statements' when it has any (its other writes touch scratch relations too). */
  const runAll = async (statements: readonly Statement[]): Promise<number> => {
    const counted = statements.some((s) => s.role === 'count');
    let changed = 0;
    for (const s of statements) {
      const n = await runOne(s);
      if (!counted || s.role === 'count') changed += n;
    }
    return changed;
  };
  const storage: Storage = {
    render,
    upsert: (spec) => runAll(render.upsert(spec)),
    async upsertReturning<T extends Row = Row>(
      spec: Parameters<PortRenderer['upsert']>[0],
      columns: readonly string[],
    ): Promise<T[]> {
      const out: T[] = [];
      for (const s of render.upsert(spec, { returning: columns })) {
        if (s.role === 'count') continue;
        out.push(...(await wh.query<T>(s.sql, s.params)));
      }
      return out;
    },
    async createScratch(spec) {
      await runAll(render.createScratch(spec));
      if ('columns' in spec && spec.rows) {
        await wh.append(
          spec.name,
          spec.columns.map(([name]) => name),
          spec.rows,
        );
      }
    },
    async dropScratch(name) {
      await runAll(render.dropScratch(name));
    },
    async withScratch(spec, fn) {
      await storage.createScratch(spec);
      let failed = true;
      try {
        const out = await fn();
        failed = false;
        return out;
      } finally {
        // After a failure inside a transaction the engine refuses further statements until rollback, which drops the
        // scratch relation anyway; the caller must see the original error, not the drop's.
        await storage.dropScratch(spec.name).catch((e: unknown) => {
          if (!failed) throw e;
        });
      }
    },
    updateFrom: (spec) => runAll(render.updateFrom(spec)),
    stageFile: async (spec) => localFileSource(wh.dialect, spec),
    ...overrides,
    async replaceSnapshot(spec) {
      const { statements, inserting } = render.replaceSnapshot(spec);
      let inserted = 0;
      for (const [i, s] of statements.entries()) {
        const n = await runOne(s);
        if (i === inserting) inserted = n;
      }
      return inserted;
    },
  };
  return storage;
}
