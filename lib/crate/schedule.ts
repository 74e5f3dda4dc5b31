/**
 * Schedule windows. A resource runs at most once per window: if a snapshot already exists whose name
 * falls in the window containing "now", the run is skipped. Windows are UTC: a calendar day, a clock
 * hour, or an ISO week (Monday 00:00 to the next Monday 00:00).
 */

/** The schedules a crate may name. */
export const SCHEDULES = ["daily", "hourly", "weekly"] as const;

/** One of {@link SCHEDULES}. */
export type Schedule = typeof SCHEDULES[number];

/** A half-open time window `[start, end)`. */
export interface Window {
  start: Date;
  end: Date;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The window of `schedule` that contains `now`. */
export function windowAt(schedule: Schedule, now: Date): Window {
  const t = now.getTime();
  let start: number;
  let length: number;
  switch (schedule) {
    case "hourly":
      start = Math.floor(t / HOUR_MS) * HOUR_MS;
      length = HOUR_MS;
      break;
    case "daily":
      start = Math.floor(t / DAY_MS) * DAY_MS;
      length = DAY_MS;
      break;
    case "weekly": {
      const day = Math.floor(t / DAY_MS) * DAY_MS;
      // getUTCDay: 0 = Sunday; ISO weeks start on Monday
      const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
      start = day - sinceMonday * DAY_MS;
      length = 7 * DAY_MS;
      break;
    }
  }
  return { start: new Date(start), end: new Date(start + length) };
}

/** The existing snapshot time that already covers the window containing `now`, or null. */
export function snapshotInWindow(schedule: Schedule, now: Date, snapshotTimes: Date[]): Date | null {
  const w = windowAt(schedule, now);
  for (const s of snapshotTimes) {
    if (s >= w.start && s < w.end) return s;
  }
  return null;
}
