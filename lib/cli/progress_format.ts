/**
 * The text of one progress line, as a pure function of the counters: `label  45%  1.2/2.6 GiB
 * 85.3 MiB/s  ETA 0:17`. Kept apart from the drawing (progress_bar.ts) so the format is tested alone.
 */
import type { ProgressUnit } from "../progress.ts";
import { displayWidth, endOfWidth } from "./display_width.ts";

/** The counters of a phase at one instant. */
export interface ProgressState {
  label: string;
  unit: ProgressUnit;
  value: number;
  /** Unknown totals draw no percentage and no ETA. */
  total?: number;
  elapsedMs: number;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 → `1.5 KiB`; below 1 KiB whole bytes. */
export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${UNITS[i]}`;
}

/** Seconds as `m:ss`, or `h:mm:ss` from an hour on. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/**
 * The line for `st`, cut to `width` terminal columns (wide characters count two) by shortening the
 * label from the left.
 */
export function formatProgress(st: ProgressState, width = Infinity): string {
  const bytes = st.unit === "bytes";
  const amount = (n: number) => (bytes ? formatBytes(n) : `${n}`);
  const parts: string[] = [];
  const known = st.total !== undefined && st.total > 0;
  if (known) parts.push(`${Math.min(100, Math.floor((st.value / st.total!) * 100))}%`.padStart(4));
  parts.push(
    known
      ? `${amount(st.value)}/${amount(st.total!)}${bytes ? "" : " entries"}`
      : `${amount(st.value)}${bytes ? "" : " entries"}`,
  );
  const secs = st.elapsedMs / 1000;
  const rate = secs > 0.2 ? st.value / secs : 0;
  if (rate > 0) parts.push(bytes ? `${formatBytes(rate)}/s` : `${Math.round(rate)}/s`);
  if (known && rate > 0 && st.value < st.total!) {
    parts.push(`ETA ${formatDuration((st.total! - st.value) / rate)}`);
  }
  const tail = parts.join("  ");
  const label = fitLabel(st.label, width - tail.length - 2);
  return label ? `${label}  ${tail}` : tail.slice(0, Math.max(0, width));
}

/**
 * `label` in `room` columns: the verb (first word) stays and what follows loses its start, which for
 * a path or URL is the least telling part: `downloading …/vigo-backup-….tar.gz`.
 */
function fitLabel(label: string, room: number): string {
  if (displayWidth(label) <= room) return label;
  const space = label.indexOf(" ");
  const verb = space > 0 ? label.slice(0, space + 1) : "";
  const keep = room - displayWidth(verb) - 1;
  if (keep >= 8) return `${verb}…${endOfWidth(label, keep)}`;
  return room > 1 ? `…${endOfWidth(label, room - 1)}` : "";
}
