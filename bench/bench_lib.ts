/**
 * Shared types and helpers for `deno task bench`. Each `bench/<area>_bench.ts` exports
 * `run(ctx)` returning rows; `bench/main.ts` prints them side by side as ratios.
 */

/** Run-wide settings. */
export interface BenchContext {
  /** Scratch directory for this run (deleted afterwards). */
  workDir: string;
  /** 1 = the full sizes the issues name (e.g. 1 GiB DB); smaller values shrink every input proportionally. */
  scale: number;
  /** Command that starts vigocli (e.g. `["deno","run","-A","main.ts"]` or a compiled binary). */
  vigocli: string[];
}

/** One measured comparison. */
export interface BenchRow {
  /** What was measured, e.g. "backup create, 1 GiB DB + 10k files". */
  name: string;
  /** Our figure. */
  ours: number;
  /** The peer's figure in the same unit (omit when there is no peer). */
  peer?: number;
  /** Name of the peer, e.g. "sqlite3 .backup + tar czf". */
  peerName?: string;
  /** Unit, e.g. "s", "MiB", "MB/s". */
  unit: string;
  /** Target, e.g. "≤ 1.0×" — printed beside the ratio. */
  target?: string;
  /** True when the target is met (undefined when there is none). */
  met?: boolean;
}

/** Wall time and peak RSS of one process. */
export interface Measured {
  seconds: number;
  peakRssMiB: number;
  code: number;
}

/** Runs `sh -c script` under GNU time, returning wall seconds and peak RSS. Throws on failure. */
export async function measureShell(script: string, env?: Record<string, string>): Promise<Measured> {
  const start = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", "sh", "-c", script],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  const err = new TextDecoder().decode(out.stderr).trim().split("\n");
  const kib = Number(err[err.length - 1]);
  if (out.code !== 0) throw new Error(`bench command failed (${out.code}): ${script}\n${err.join("\n")}`);
  return { seconds, peakRssMiB: kib / 1024, code: out.code };
}

/** Quotes a word for `sh -c`. */
export function sh(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
