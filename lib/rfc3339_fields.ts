/**
 * Range checks of an RFC 3339 time's fields. Date.parse rolls an impossible date over instead of
 * refusing it (2026-11-31 becomes December 1st, 24:00 the next midnight), while Litestream (Go's
 * time.Parse) refuses it, so a time a person typed is checked here before it is parsed.
 */

const FIELDS = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2}))?/;

/** Days in `month` (1–12) of `year`, Gregorian. */
function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/**
 * What is out of range in the date and time that `text` starts with (`YYYY-MM-DD[T ]hh:mm[:ss]`), e.g.
 * "2026-11 has 30 days"; undefined when every field is in range or `text` does not start that way
 * (the caller's own pattern judges the form).
 */
export function rfc3339FieldProblem(text: string): string | undefined {
  const m = FIELDS.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => Number(v ?? "0"));
  if (month < 1 || month > 12) return `month ${m[2]} does not exist`;
  const days = daysIn(year, month);
  if (day < 1 || day > days) return `${m[1]}-${m[2]} has ${days} days`;
  if (hour > 23) return `hour ${m[4]} is past 23`;
  if (minute > 59) return `minute ${m[5]} is past 59`;
  if (second > 59) return `second ${m[6]} is past 59`;
  return undefined;
}
