import { SegflowError } from '../../errors.js';
import type { Warehouse } from '../warehouse.js';
import { openChdbTransport } from './chdb-transport.js';
import { type ClickHouseConfig, DEFAULT_CHDB_FOLDER } from './clickhouse-config.js';
import { clickhouseError, openClickHouseOn } from './clickhouse-warehouse.js';
import { openHttpTransport, safeUrl } from './http-transport.js';
import { timedTransport } from './transport.js';

/**
 * Open a ClickHouse warehouse (without migrating): over HTTP when `url` is set, else the embedded engine. A server
 * is asked one question first, so that a wrong URL, password or database fails here with the setting to fix.
 *
 * @example
 * const wh = await openClickHouse({ url: 'http://127.0.0.1:8123', database: 'segflow' });
 */
export async function openClickHouse(config: ClickHouseConfig): Promise<Warehouse> {
  if (!config.url) {
    const transport = timedTransport(
      await openChdbTransport({
        folder: config.folder ?? DEFAULT_CHDB_FOLDER,
        database: config.database,
      }),
    );
    return openClickHouseOn(transport, config.database);
  }
  const transport = timedTransport(
    openHttpTransport({
      url: config.url,
      database: config.database,
      username: config.username,
      password: config.password,
    }),
  );
  try {
    const result = await transport.select('SELECT currentDatabase() AS db');
    if (result.data[0]?.[0] !== config.database) {
      throw new SegflowError(
        'CLICKHOUSE_CONFIG',
        `ClickHouse at ${safeUrl(config.url)} did not open database ${config.database}`,
        'set clickhouse.database (or SEGFLOW_CLICKHOUSE_DATABASE) to a database that exists there',
      );
    }
  } catch (e) {
    await transport.close().catch(() => undefined);
    throw clickhouseError(e, 'SELECT currentDatabase()', safeUrl(config.url));
  }
  return openClickHouseOn(transport, config.database);
}
