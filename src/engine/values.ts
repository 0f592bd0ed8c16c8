/** A value bound to a `?` placeholder. Dates bind as UTC timestamps. User input only ever reaches SQL this way. */
export type SqlValue = string | number | bigint | boolean | null | Date;
/** A row as JavaScript sees it: integers that fit are numbers, timestamps are Dates, JSON columns are strings. */
export type Row = Record<string, unknown>;
