/**
 * The tests' own SQL per engine for reading every stored table back (privacy tests look for a person's traces in all
 * of them): where the tables are listed, their columns, and a column's value as text. Each query takes the schema
 * (and the table) as bound values.
 */
export const TABLE_CATALOG = {
  duckdb: {
    schema: 'main',
    tables: `SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'`,
    columns: 'SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?',
    text: (c: string) => `CAST("${c}" AS VARCHAR)`,
  },
  clickhouse: {
    schema: 'segflow',
    // The session's temporary tables are listed too, in a database nobody may read: stored tables only.
    tables: `SELECT name AS table_name FROM system.tables WHERE database = ? AND NOT is_temporary AND engine NOT LIKE '%View'`,
    // information_schema.columns reads the session's temporary tables as well (refused the same way).
    columns: 'SELECT name AS column_name FROM system.columns WHERE database = ? AND table = ?',
    text: (c: string) => `toString("${c}")`,
  },
} as const;
