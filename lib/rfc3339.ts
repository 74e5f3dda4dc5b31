/**
 * The RFC 3339 times a person types: `backup replica restore --timestamp` and `VIGO_NOW`. Both take one
 * language, RFC 3339's own: seconds and a zone are required (`2026-03-13T14:30:00Z`, `…+02:00`, a fraction
 * as in `…14:30:00.255Z`; `t`, `z` and a space for `T` as the RFC allows), which is what Litestream's
 * `-timestamp` (Go's time.RFC3339) takes too, so a time is never guessed in local time.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** Days in `month` (1–12) of `year`, Gregorian. */
function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** What is out of range in the fields `RFC3339` matched, e.g. "2026-11 has 30 days". */
function fieldProblem(m: RegExpExecArray): string | undefined {
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = m.slice(1).map((v) =>
    Number(v ?? "0")
  );
  if (month < 1 || month > 12) return `month ${m[2]} does not exist`;
  const days = daysIn(year, month);
  if (day < 1 || day > days) return `${m[1]}-${m[2]} has ${days} days`;
  if (hour > 23) return `hour ${m[4]} is past 23`;
  if (minute > 59) return `minute ${m[5]} is past 59`;
  if (second > 59) return `second ${m[6]} is past 59`;
  if (offsetHour > 23) return `offset hour ${m[7]} is past 23`;
  if (offsetMinute > 59) return `offset minute ${m[8]} is past 59`;
  return undefined;
}

/**
 * `text` as the instant it names, or what is wrong with it ("not an RFC 3339 time …" or "no such time
 * (2026-11 has 30 days)"), which the caller puts after the value in an error with its own exit code.
 * Date.parse rolls an impossible date over instead of refusing it (2026-11-31 becomes December 1st,
 * 24:00 the next midnight), while Litestream (Go's time.Parse) refuses it, so every field is
 * range-checked first; what passes is a time Date.parse reads exactly once the separator is a "T".
 */
export function parseRfc3339(text: string): Date | string {
  const m = RFC3339.exec(text);
  if (!m) return "not an RFC 3339 time with a zone (e.g. 2026-03-13T14:30:00Z)";
  const problem = fieldProblem(m);
  if (problem) return `no such time (${problem})`;
  return new Date(Date.parse(`${text.slice(0, 10)}T${text.slice(11)}`));
}
