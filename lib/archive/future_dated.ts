/**
 * Archives dated in the future — a pure decision, shared by prune, status, list and drill. An archive's
 * time comes from its name (else its modification time), and a `backup create` on a host whose clock ran
 * ahead names it after that clock: once the clock is corrected, such an archive holds old data under a
 * time no later archive can beat. Taken as the newest, it made `prune --keep 1` delete the archive with
 * the newest data, `status` call the data 0 s old, and `drill` restore the old state. So an archive whose
 * time is later than now plus {@link FUTURE_ALLOWANCE_MS} is never the newest, and never deleted either:
 * which data it holds is for an operator to judge.
 */

/**
 * How far ahead of now an archive's time may be and still count: 5 minutes. Hosts kept by NTP agree within
 * a second, and an archive's name is the time its create started, before now on the host that made it; but
 * a remote archive with a name of its own is dated by the backend's clock, and a host without NTP drifts
 * seconds a day. A clock that ran ahead far enough to matter (hours, or years after a dead RTC battery) is
 * far beyond it, and 5 minutes is the clock skew Kerberos tolerates by default.
 */
export const FUTURE_ALLOWANCE_MS = 5 * 60_000;

/** Whether `time` (an archive's) is later than `now` plus {@link FUTURE_ALLOWANCE_MS}. */
export function isDatedInFuture(time: Date, now: Date): boolean {
  return time.getTime() > now.getTime() + FUTURE_ALLOWANCE_MS;
}

/**
 * Why an archive dated in the future is not taken as the newest, and what to do about it: one line for a
 * warning or a status problem. `what` is how the archive is named (its file name, or with where it is).
 */
export function futureDatedNote(what: string, time: string, now: Date): string {
  const at = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  return `${what} is dated in the future (${time}, now ${at}): the clock was ahead when it was made, or ` +
    `is behind now; it is not taken as the newest archive nor deleted by prune: check what it holds ` +
    `(backup inspect) and remove it by hand`;
}

/**
 * The first of `newestFirst` (a listing, newest first) that is not dated in the future at `now`, or
 * undefined: the archive that holds the newest data as far as the names can tell.
 */
export function newestNotDatedInFuture<T extends { time: string }>(
  newestFirst: readonly T[],
  now: Date,
): T | undefined {
  return newestFirst.find((a) => !isDatedInFuture(new Date(a.time), now));
}

/**
 * What `backup list` appends to the row of an archive whose `time` is dated in the future at `now`
 * (nothing for the others): listed in its place by its name's time, but not the newest.
 */
export function futureMark(time: string, now: Date): string {
  return isDatedInFuture(new Date(time), now) ? "  (dated in the future)" : "";
}
