/**
 * Snapshot directory names: `YYYY.JJJ.HH.MM` in UTC, JJJ = day of the year (001–366). The names sort
 * lexically in time order, which is what `ls` and the retention decision rely on.
 */

const NAME = /^(\d{4})\.(\d{3})\.(\d{2})\.(\d{2})$/;
const DAY_MS = 86_400_000;

/** Formats `t` as a snapshot name (minute resolution, UTC). */
export function formatSnapshotName(t: Date): string {
  const year = t.getUTCFullYear();
  const dayOfYear =
    Math.floor((Date.UTC(year, t.getUTCMonth(), t.getUTCDate()) - Date.UTC(year, 0, 1)) / DAY_MS) +
    1;
  return `${String(year).padStart(4, "0")}.${String(dayOfYear).padStart(3, "0")}.${pad2(t.getUTCHours())}.${
    pad2(t.getUTCMinutes())
  }`;
}

/** Parses a snapshot name back to its UTC start minute, or returns null when `name` is not one. */
export function parseSnapshotName(name: string): Date | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const [year, day, hour, minute] = m.slice(1).map(Number);
  const daysInYear = Date.UTC(year + 1, 0, 1) - Date.UTC(year, 0, 1) === 366 * DAY_MS ? 366 : 365;
  if (day < 1 || day > daysInYear || hour > 23 || minute > 59) return null;
  return new Date(Date.UTC(year, 0, 1) + (day - 1) * DAY_MS + hour * 3_600_000 + minute * 60_000);
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}
