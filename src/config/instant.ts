/**
 * Times in options, definitions and config: ISO-8601 only (a date, or a date and time), read as UTC when there is no
 * offset. Everything else is refused rather than guessed: `03/01/2026` is 1 March in one country and 3 January in
 * another, `2026-02-30` is no day at all, and a time without an offset must not depend on the machine's time zone.
 */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

export const INSTANT_FORMAT = 'ISO-8601, e.g. 2026-03-01 or 2026-03-01T12:00:00Z (UTC when no offset)';

export function parseInstant(text: string): Date | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const day = new Date(utc);
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined;
  let ms = utc + (m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0);
  const offset = m[8]?.toUpperCase();
  if (offset && offset !== 'Z') {
    const digits = offset.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
    ms -= (offset.startsWith('-') ? -1 : 1) * minutes * 60_000;
  }
  return new Date(ms);
}
