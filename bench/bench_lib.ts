/**
 * Shared types and helpers for `deno task bench`. Each `bench/<area>_bench.ts` exports
 * `run(ctx)` returning rows; `bench/main.ts` prints them side by side as ratios.
 */
import { fileURLToPath } from "node:url";
import { createAtomicFile } from "../lib/fsutil/atomic_file.ts";

/** Run-wide settings. */
export interface BenchContext {
  /** Scratch directory for this run (deleted afterwards). */
  workDir: string;
  /** 1 = the full sizes the issues name (e.g. 1 GiB DB); smaller values shrink every input proportionally. */
  scale: number;
  /** Command that starts vigocli (e.g. `["deno","run","-A","main.ts"]` or a compiled binary). */
  vigocli: string[];
  /** 0-based index of this repetition of the area (main.ts runs each area `--runs` times). */
  run?: number;
  /** True with `--rss-flat`: run the 1 GiB vs 8 GiB peak-RSS rows below scale 1 too. */
  rssFlat?: boolean;
}

/**
 * A target that main.ts checks against the median over all runs: `ratio` bounds ours ÷ peer, `value`
 * bounds ours itself; `higher` means bigger is better (throughput).
 */
export interface Goal {
  ratio?: number;
  value?: number;
  higher?: boolean;
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
  /** True when the target is met (undefined when there is none); main.ts recomputes it from `goal`. */
  met?: boolean;
  /** Machine-checkable form of `target`, evaluated on the median of the runs. */
  goal?: Goal;
}

/** Builds the `target` text and `goal` of a ratio row: "≤ 0.8×" or "≥ 1.0×". */
export function ratioGoal(ratio: number, higher = false): Pick<BenchRow, "target" | "goal"> {
  return { target: `${higher ? "≥" : "≤"} ${ratio.toFixed(1)}×`, goal: { ratio, higher } };
}

/** Builds the `target` text and `goal` of an absolute row, e.g. "≤ 25 ms". */
export function valueGoal(value: number, unit: string): Pick<BenchRow, "target" | "goal"> {
  return { target: `≤ ${value} ${unit}`, goal: { value } };
}

/** The 1-minute load average from /proc/loadavg (NaN where there is none). */
export function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** Whether `path` exists (bench inputs are generated once per `./dev bench` and reused by every run). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Wall time, CPU time (user + system, all threads and children) and peak RSS of one shell command. */
export interface Measured {
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  code: number;
}

/** A `prepare` for {@link measureShell} that only flushes dirty pages (`sync`) before the command. */
export const SYNC_ONLY = ":";

/**
 * Makes the VM back 3 GiB of memory again, then frees it (where /dev/shm has the room; else nothing):
 * the prepare step of every restore. This VM hands memory left free for a few seconds back to the host,
 * and whichever command next writes a database's worth of pages pays for getting it back, 1–3 s of
 * system time per GiB, depending on what ran before rather than on the tool (Design, performance
 * decisions, "Replica restore's benchmark rows" and "Restore's benchmark rows").
 */
export const PREFAULT = "{ head -c 3G /dev/zero > /dev/shm/vigocli-bench-prefault || true; } 2>/dev/null; " +
  "rm -f /dev/shm/vigocli-bench-prefault";

/**
 * How bench scripts run: without pipefail, a peer pipeline whose first stage failed (`tar cf - … | pigz`
 * with a member missing, `sqlite3 .dump | gzip` of no database) exited 0 in milliseconds and was timed
 * as the peer's figure.
 */
const PIPEFAIL = ["-o", "pipefail", "-c"];

/**
 * Runs `prepare` (when given) and then `sync`, untimed, as hyperfine's `--prepare` does: removing the
 * previous run's output and flushing every dirty page first keeps that work out of the measured command
 * (before stop 21 the restore rows timed `rm -rf` of the last tree, and our restore's final syncfs also
 * wrote back whatever the peer before it had left in the page cache).
 */
async function prepareRun(prepare: string | undefined): Promise<void> {
  const script = prepare === undefined ? "sync" : `${prepare} && sync`;
  const out = await new Deno.Command("bash", { args: [...PIPEFAIL, script], stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `bench preparation failed (${out.code}): ${script}\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/**
 * Flushes every dirty page, so that a transfer measured next does not pay, in its own fsync or in the
 * disk's queue, for the writeback of the file the previous one left in the page cache.
 */
export function flushWriteback(): Promise<void> {
  return prepareRun(undefined);
}

/**
 * Runs `bash -o pipefail -c script` under GNU time, returning wall seconds and peak RSS (the largest of
 * the shell and every stage of a pipeline: GNU time reads the rusage of all its descendants). Throws
 * when any stage fails. With `prepare`, runs {@link prepareRun} first.
 */
export async function measureShell(
  script: string,
  env?: Record<string, string>,
  prepare?: string,
): Promise<Measured> {
  if (prepare !== undefined) await prepareRun(prepare);
  const start = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S %M", "bash", ...PIPEFAIL, script],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  const err = new TextDecoder().decode(out.stderr).trim().split("\n");
  if (out.code !== 0) {
    throw new Error(
      `bench command failed (exit ${out.code} of its last failing stage): ${script}\n${err.join("\n")}`,
    );
  }
  const [user, system, kib] = err[err.length - 1].split(" ").map(Number);
  return { seconds, cpuSeconds: user + system, peakRssMiB: kib / 1024, code: out.code };
}

/** `list` started at position `run` (mod its length), so each entry takes each place in turn. */
export function rotate<T>(list: T[], run: number): T[] {
  const k = run % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/**
 * Times replica restores one after another, each started with every one of `outputs` removed, dirty
 * pages flushed and memory just backed by the VM ({@link PREFAULT}), in an order that rotates with `run`:
 * run in a fixed order, the ratios mostly said which tool met memory the VM had reclaimed (Design,
 * performance decisions, "Replica restore's benchmark rows").
 */
export async function measureRestoresInTurn<K extends string>(
  commands: Record<K, string>,
  outputs: string[],
  run: number,
  prefault = PREFAULT,
): Promise<Record<K, Measured>> {
  const prepare = `rm -f ${outputs.map(sh).join(" ")} && sync && ${prefault}`;
  const measured = {} as Record<K, Measured>;
  for (const key of rotate(Object.keys(commands) as K[], run)) {
    measured[key] = await measureShell(commands[key], undefined, prepare);
  }
  return measured;
}

/** Where restores of one run write: {@link freshFileSystem}. */
export interface RestoreFs {
  /** A directory to make restore targets in (each restore its own, never removed before `close`). */
  dir: string;
  /** "a fresh ext4 (loop device, direct I/O)" or why the scratch directory serves instead, for the log. */
  kind: string;
  /** Unmounts and removes everything written. */
  close(): Promise<void>;
}

/**
 * A new, empty ext4 file system of `bytes` (a sparse image under `workDir` on a loop device) for the
 * restores of one run. On this VM creating a file costs 0.1 ms or 1.5 ms depending on the minute: ext4
 * skips, inode by inode, those freed in the last half minute (its `recently_deleted` test), so a tree
 * removed just before a restore made that restore — ours or a peer's — 2–3× slower (the same archive: 1.7
 * to 5.5 s). A fresh file system with nothing removed gives every tool the same allocator.
 * Durability must cost there what it costs on a disk, or only the tool that fsyncs its output pays for
 * the set-up: 1000 MiB with `dd conv=fsync` took 3.5–5.3 s on a buffered loop device (every block cached
 * twice, the file system's pages and the image's), 2.3–3.0 s with direct I/O while ext4 was still
 * zeroing its inode tables in the background (lazy init, the first minutes after mkfs), and 0.56–0.90 s
 * with both avoided, against 0.59–0.62 s on the VM's disk itself (stop 27). Needs root and a loop
 * device; otherwise a fresh directory of the scratch space serves, and the log says so.
 */
export async function freshFileSystem(workDir: string, name: string, bytes: number): Promise<RestoreFs> {
  const image = `${workDir}/${name}.ext4`;
  const dir = `${workDir}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const run = async (cmd: string, args: string[]) => {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr).trim()}`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  let device = "";
  try {
    await Deno.writeFile(image, new Uint8Array(0));
    await Deno.truncate(image, bytes);
    await run("mkfs.ext4", ["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image]);
    device = await run("losetup", ["--direct-io=on", "--find", "--show", image]);
    const dio = await Deno.readTextFile(`/sys/block/${device.replace("/dev/", "")}/loop/dio`);
    if (dio.trim() !== "1") throw new Error(`losetup: ${device} does not do direct I/O`);
    await run("mount", [device, dir]);
  } catch (err) {
    if (device) await run("losetup", ["--detach", device]).catch(() => {});
    await Deno.remove(image).catch(() => {});
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return {
      dir,
      kind: `a directory of the scratch space (no loop mount: ${why})`,
      close: () => Deno.remove(dir, { recursive: true }),
    };
  }
  return {
    dir,
    kind: "a fresh ext4 (loop device, direct I/O)",
    async close() {
      await run("umount", [dir]);
      await run("losetup", ["--detach", device]);
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(image);
    },
  };
}

/** Quotes a word for `sh -c`. */
export function sh(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Writes `text` to `path` whole or not at all (temp name, fsync, rename). */
export async function writeTextAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const file = await createAtomicFile(path, mode);
  try {
    await file.handle.writeFile(text);
    await file.commit();
  } finally {
    await file.abort();
  }
}

/**
 * The shell command that runs `bench/backend_child.ts` with `args`: under Bun when the benchmark
 * measures a compiled executable (`--bin`; Bun is the runtime inside it), else under Deno as the
 * sources run.
 */
export function backendChildCommand(ctx: BenchContext, args: string[]): string {
  const child = fileURLToPath(new URL("./backend_child.ts", import.meta.url));
  const runtime = ctx.vigocli.length === 1
    ? [fileURLToPath(new URL("../.tools/node_modules/.bin/bun", import.meta.url))]
    : [Deno.execPath(), "run", "-A", "--quiet"];
  return [...runtime, child, ...args].map(sh).join(" ");
}
