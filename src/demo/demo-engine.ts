import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE } from '../config/config.js';
import type { ClickHouseConfig } from '../engine/clickhouse/clickhouse-config.js';
import { openWarehouse, requireEmbeddedClickHouse } from '../engine/open.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';

/**
 * Where the demo keeps its databases: DuckDB files (the default) or the embedded ClickHouse engine (chdb) in folders,
 * all under the demo's working directory. The demo opens several databases one after the other (the shop, the
 * real-time server's, the experiment's); each is named here, so every section runs on the engine the user chose.
 *
 * @example
 * const engine = demoEngine('clickhouse', '/tmp/.demo');
 * const wh = await engine.open('demo'); // chdb in /tmp/.demo/demo.clickhouse
 */
export interface DemoEngine {
  name: 'duckdb' | 'clickhouse';
  /** What the demo's first line says about it. */
  title: string;
  /** Fails with a clear error (what is missing, how to get it) when the engine is not installed. */
  check(): Promise<void>;
  /** A migrated warehouse for the database `name`, created when it does not exist yet. */
  open(name: string): Promise<Warehouse>;
  /** Where database `name` lives (a file or a folder). */
  location(name: string): string;
  /** How `segflow serve` opens database `name` (`startServer`'s options). */
  serverOptions(name: string): { dbPath: string; clickhouse?: ClickHouseConfig };
  /**
   * The shell lines that let the `segflow` command open database `name` after the demo, and the command's prefix.
   * For ClickHouse the demo writes a segflow.config.yaml naming the folder (the CLI has no flag for it).
   */
  explore(name: string): { setup: string[]; cli: string };
}

export function demoEngine(name: string, dir: string): DemoEngine {
  switch (name) {
    case 'duckdb': {
      const location = (db: string) => join(dir, `${db}.duckdb`);
      return {
        name,
        title: 'embedded engine (DuckDB), nothing to set up',
        check: async () => undefined,
        location,
        open: (db) => openWarehouse({ path: location(db) }),
        serverOptions: (db) => ({ dbPath: location(db) }),
        explore: (db) => ({ setup: [], cli: `npx segflow --db ${location(db)}` }),
      };
    }
    case 'clickhouse': {
      const location = (db: string) => join(dir, `${db}.clickhouse`);
      // One folder per database, each holding a database named segflow, as `segflow --engine clickhouse` opens it.
      const config = (db: string): ClickHouseConfig => ({ folder: location(db), database: 'segflow' });
      return {
        name,
        title: 'ClickHouse embedded (chdb): the engine segflow scales out on',
        // chdb is an optional dependency (about 500 MB): the error says how to install it.
        check: requireEmbeddedClickHouse,
        location,
        open: (db) => openWarehouse({ clickhouse: config(db) }),
        serverOptions: (db) => ({ dbPath: location(db), clickhouse: config(db) }),
        explore(db) {
          writeFileSync(
            join(dir, CONFIG_FILE),
            `# Written by the demo: the segflow command in this folder opens the demo's ClickHouse database.\nengine: clickhouse\nclickhouse:\n  folder: ${JSON.stringify(location(db))}\n`,
          );
          return {
            setup: [`cd ${dir}   # its ${CONFIG_FILE} selects the demo's ClickHouse folder`],
            cli: 'npx segflow',
          };
        },
      };
    }
    default:
      throw new SegflowError(
        'USAGE',
        `engine '${name}' is not known`,
        'use --engine duckdb (the default) or --engine clickhouse',
      );
  }
}
