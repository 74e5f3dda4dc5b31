/**
 * The pure half of `./dev bench`: folds the rows of repeated runs into min/median/max per measure,
 * decides met/missed on the medians, and renders the table that both the terminal and README show
 * (scripts/bench_table.ts regenerates README's table from the JSON written by `--json-out`).
 */
import type { BenchRow } from "./bench_lib.ts";

/** One run's row, tagged with its area and the 1-minute load average while the area ran. */
export interface RunRow extends BenchRow {
  area: string;
  load: number;
}

/** min / median / max of a list of figures, and the figures themselves. */
export interface Spread {
  min: number;
  median: number;
  max: number;
  runs: number[];
}

/** One measure over all runs: the JSON record of `--json-out` (snake_case, as scripts parse it). */
export interface ReportRow {
  area: string;
  name: string;
  unit: string;
  ours: Spread;
  peer: Spread | null;
  peer_name: string | null;
  /** ours ÷ peer per run (paired: both sides of a run saw the same load). */
  ratio: Spread | null;
  target: string | null;
  met: boolean | null;
  load_avg: { min: number; max: number };
}

/** The whole `--json-out` document. */
export interface Report {
  started_at: string;
  scale: number;
  /** The runs asked for per area (`--runs`). */
  runs: number;
  /**
   * The runs each area completed: fewer than `runs` when it failed part-way, its rows then holding only
   * the runs before. Absent from older reports, which are read as every area completed.
   */
  runs_completed?: Record<string, number>;
  vigocli: string;
  rows: ReportRow[];
}

/** min/median/max of `xs` (the median of an even count is the mean of the middle two). */
export function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: s[0], median, max: s[s.length - 1], runs: xs };
}

/** Folds the rows of every run into one record per (area, measure, peer), in first-seen order. */
export function aggregate(rows: RunRow[]): ReportRow[] {
  const groups = new Map<string, RunRow[]>();
  for (const r of rows) {
    const key = `${r.area}\u0000${r.name}\u0000${r.peerName ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0];
    const measured = g.filter((r) => r.peer !== undefined);
    // A peer's 0 (no rows lost, no CPU in a window) is a figure to show, but no ratio can be taken of it.
    const paired = measured.filter((r) => r.peer! > 0);
    const ours = spread(g.map((r) => r.ours));
    const ratio = paired.length ? spread(paired.map((r) => r.ours / r.peer!)) : null;
    return {
      area: first.area,
      name: first.name,
      unit: first.unit,
      ours,
      peer: measured.length ? spread(measured.map((r) => r.peer!)) : null,
      peer_name: first.peerName ?? null,
      ratio,
      target: first.target ?? null,
      met: decide(g, ours, ratio),
      load_avg: { min: Math.min(...g.map((r) => r.load)), max: Math.max(...g.map((r) => r.load)) },
    };
  });
}

/** met/missed on the medians when the row has a goal; else the majority of the runs' own verdicts. */
function decide(g: RunRow[], ours: Spread, ratio: Spread | null): boolean | null {
  const goal = g[0].goal;
  if (goal?.ratio !== undefined) {
    if (!ratio) return null;
    return goal.higher ? ratio.median >= goal.ratio : ratio.median <= goal.ratio;
  }
  if (goal?.value !== undefined) return goal.higher ? ours.median >= goal.value : ours.median <= goal.value;
  const verdicts = g.map((r) => r.met).filter((m) => m !== undefined);
  if (!verdicts.length) return null;
  return verdicts.filter(Boolean).length * 2 > verdicts.length;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

/** "median (min–max) unit", or just the figure when there was one run. */
export function formatSpread(s: Spread, unit: string): string {
  const range = s.runs.length > 1 ? ` (${fmt(s.min)}–${fmt(s.max)})` : "";
  return `${fmt(s.median)}${range} ${unit}`.trim();
}

/** The Markdown table of a report: one row per measure, ratio and target, met/missed, load. */
export function formatTable(rows: ReportRow[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const header = ["area", "measure", "vigocli", "peer", "ratio", "target", "met", "load"];
  const body = rows.map((r) => [
    r.area,
    esc(r.name),
    formatSpread(r.ours, r.unit),
    r.peer ? `${formatSpread(r.peer, r.unit)} ${esc(r.peer_name ?? "")}`.trim() : "",
    r.ratio ? formatSpread(r.ratio, "×").replace(" ×", "×") : "",
    esc(r.target ?? ""),
    r.met === null ? "" : r.met ? "met" : "MISSED",
    `${r.load_avg.min.toFixed(1)}–${r.load_avg.max.toFixed(1)}`,
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row: string[]) => "| " + row.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
