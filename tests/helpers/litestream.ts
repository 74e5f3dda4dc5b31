/**
 * Drives the real Litestream v0.3.13 binary for interop tests: write a config, run `replicate` in
 * the background (logs captured, stopped by signal), run `restore`, and a separate SQLite writer
 * process whose committed row ids the tests compare against what was restored.
 */
import { cliCommand } from "./cli.ts";
import { recordRun } from "./transcript.ts";
import { LITESTREAM } from "./tools.ts";

/** Settings of one database + one replica in a litestream.yml. */
export interface LitestreamConfigOptions {
  dbPath: string;
  /** Replica URL: `file:///dir` or `s3://bucket/path`. */
  replicaUrl: string;
  /** Go durations, e.g. "100ms", "1s". */
  syncInterval?: string;
  snapshotInterval?: string;
  retention?: string;
  retentionCheckInterval?: string;
  /** How often Litestream checkpoints on its own (default 1m). */
  checkpointInterval?: string;
  /** WAL pages before Litestream's PASSIVE checkpoint (default 1000). */
  minCheckpointPageCount?: number;
  monitorInterval?: string;
  /** S3 settings. */
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
}

/** The litestream.yml text for `o` (JSON is valid YAML, so values need no quoting rules). */
export function litestreamConfigYaml(o: LitestreamConfigOptions): string {
  const replica: Record<string, unknown> = { url: o.replicaUrl };
  const put = (k: string, v: unknown) => v !== undefined && (replica[k] = v);
  put("sync-interval", o.syncInterval);
  put("snapshot-interval", o.snapshotInterval);
  put("retention", o.retention);
  put("retention-check-interval", o.retentionCheckInterval);
  put("access-key-id", o.accessKeyId);
  put("secret-access-key", o.secretAccessKey);
  put("region", o.region);
  put("endpoint", o.endpoint);
  put("force-path-style", o.forcePathStyle);
  const db: Record<string, unknown> = { path: o.dbPath, replicas: [replica] };
  if (o.checkpointInterval) db["checkpoint-interval"] = o.checkpointInterval;
  if (o.minCheckpointPageCount !== undefined) db["min-checkpoint-page-count"] = o.minCheckpointPageCount;
  if (o.monitorInterval) db["monitor-interval"] = o.monitorInterval;
  return JSON.stringify({ dbs: [db] }, null, 2) + "\n";
}

/** Writes a litestream.yml and returns its path. */
export async function writeLitestreamConfig(path: string, o: LitestreamConfigOptions): Promise<string> {
  await Deno.writeTextFile(path, litestreamConfigYaml(o));
  return path;
}

/** A background process whose output is captured as it arrives. */
export interface Background {
  child: Deno.ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves when `re` matches the output; rejects after `timeoutMs` or if the process exits. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /**
   * Sends `signal` (default SIGTERM) and waits for exit; returns the exit code. A process that has not
   * exited after `timeoutMs` (default {@link defaultStopTimeoutMs}) is killed with its whole process
   * tree and the call throws, so a replicator that ignores SIGTERM fails its test instead of hanging
   * the suite.
   */
  stop(signal?: Deno.Signal, timeoutMs?: number): Promise<number>;
  /** Waits for the process to exit on its own (bounded like {@link Background.stop}); returns the exit code. */
  wait(timeoutMs?: number): Promise<number>;
  /** SIGKILLs the process and all its descendants and waits for it; never throws (for `finally`). */
  kill(): Promise<void>;
}

/**
 * How long {@link Background.stop} waits after its signal: 120 s natively, 300 s under an emulator
 * (VIGOCLI_RUNNER), or VIGOCLI_TIMEOUT_MS.
 */
export function defaultStopTimeoutMs(): number {
  const explicit = Number(Deno.env.get("VIGOCLI_TIMEOUT_MS"));
  if (explicit > 0) return explicit;
  return Deno.env.get("VIGOCLI_RUNNER") ? 300_000 : 120_000;
}

/** `pid` and all its descendants, parents first (read with pgrep, so only still-running ones). */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    const out = new Deno.Command("pgrep", { args: ["-P", String(all[i])], stdout: "piped", stderr: "null" })
      .outputSync();
    all.push(...new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number));
  }
  return all;
}

/** SIGKILLs `pid` and its descendants (children are collected first: killing the parent orphans them). */
export function killTree(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      Deno.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

// Every background process still running. A test that throws before its cleanup (or forgets it)
// must not leave a replicator running after the test process ends: on unload they are all killed.
const running = new Set<number>();
globalThis.addEventListener("unload", () => {
  for (const pid of running) killTree(pid);
});

/** `p`'s value, or undefined when it has not settled within `ms` (the timer is always cleared). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `cmd ARGS…` in the background with its output captured (see {@link Background}). */
export function background(cmd: string, args: string[], env?: Record<string, string>): Background {
  const child = new Deno.Command(cmd, { args, env, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  running.add(child.pid);
  let text = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) text += dec.decode(c, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  // Our CLI's runs go to the secret-leak transcript (both streams, interleaved as they arrived), once
  // it has exited; the pipes get a bounded wait, as in finish() below.
  const vigo = cliCommand();
  if (cmd === vigo[0] && vigo.slice(1).every((a, i) => args[i] === a)) {
    child.status.then(() => within(pumps, 5_000)).then(
      () => recordRun({ argv: args.slice(vigo.length - 1), stdout: "", stderr: text }),
      () => {},
    );
  }
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    running.delete(child.pid);
    return s;
  });
  const signal = (pid: number, sig: Deno.Signal) => {
    try {
      Deno.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  // Waits for exit within `timeoutMs`; on timeout kills the tree and throws. The output pumps get a
  // bounded wait too: a descendant that outlived the process may still hold our pipes open.
  const finish = async (timeoutMs: number, what: string): Promise<number> => {
    const s = await within(status, timeoutMs);
    if (s === undefined) killTree(child.pid);
    await status;
    await within(pumps, 5_000);
    if (s === undefined) {
      throw new Error(`${cmd} did not exit within ${timeoutMs} ms ${what}; killed it:\n${text}`);
    }
    return s.code;
  };
  return {
    child,
    output: () => text,
    async waitFor(re, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      while (!re.test(text)) {
        if (exited) throw new Error(`${cmd} exited before ${re} appeared:\n${text}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${re} from ${cmd}:\n${text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    wait(timeoutMs = defaultStopTimeoutMs()) {
      return finish(timeoutMs, "on its own");
    },
    stop(sig: Deno.Signal = "SIGTERM", timeoutMs = defaultStopTimeoutMs()) {
      if (!exited) signal(child.pid, sig);
      return finish(timeoutMs, `after ${sig}`);
    },
    async kill() {
      if (!exited) killTree(child.pid);
      await status;
      await within(pumps, 5_000);
    },
  };
}

/** Starts `litestream replicate -config PATH`; wait for `/replicating to/` or a first segment. */
export function startLitestreamReplicate(configPath: string, env?: Record<string, string>): Background {
  return background(LITESTREAM, ["replicate", "-config", configPath], env);
}

/**
 * Starts `vigocli backup replicate --server-yaml YAML --server-root ROOT` in the background; wait for
 * `/replication started/` before relying on it.
 */
export function startVigoReplicate(
  serverYaml: string,
  serverRoot: string,
  env?: Record<string, string>,
): Background {
  const [cmd, ...pre] = cliCommand();
  return background(cmd, [
    ...pre,
    "backup",
    "replicate",
    "--server-yaml",
    serverYaml,
    "--server-root",
    serverRoot,
  ], env);
}

/** Result of a finished process. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link litestreamRestore}. */
export interface LitestreamRestoreOptions {
  out: string;
  /** A replica URL (file:///dir) — or use `configPath` + `dbPath`. */
  url?: string;
  configPath?: string;
  dbPath?: string;
  /** Kills the restore when aborted (a soak ending a round that hung). */
  signal?: AbortSignal;
  timestamp?: string;
  generation?: string;
  env?: Record<string, string>;
}

/** Runs `litestream restore` to completion. */
export async function litestreamRestore(o: LitestreamRestoreOptions): Promise<RunResult> {
  const args = ["restore", "-o", o.out];
  if (o.timestamp) args.push("-timestamp", o.timestamp);
  if (o.generation) args.push("-generation", o.generation);
  if (o.configPath) args.push("-config", o.configPath, o.dbPath ?? "");
  else args.push(o.url ?? "");
  const out = await new Deno.Command(LITESTREAM, {
    args,
    env: o.env,
    stdout: "piped",
    stderr: "piped",
    signal: o.signal,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Options of {@link startSqliteWriter}. */
export interface WriterOptions {
  /** Transactions per second to aim for (0 = as fast as possible). */
  txPerSecond?: number;
  /** Stop after this many transactions (default: run until stopped). */
  maxTx?: number;
  /** Bytes of payload per row (default 100). */
  payload?: number;
  /** Run `PRAGMA wal_checkpoint(<mode>)` every N transactions (the app checkpointing on its own). */
  checkpointEvery?: number;
  checkpointMode?: "PASSIVE" | "FULL" | "RESTART" | "TRUNCATE";
}

/**
 * Starts a separate process writing one row per transaction into table `t(id, ts, payload)` of a
 * WAL-mode database. It prints `committed <id> <ms>` after every commit, so `committed()` is the
 * exact set of durable rows with their commit times, and `checkpoints()` its own checkpoints.
 */
export function startSqliteWriter(dbPath: string, o: WriterOptions = {}): Background & {
  committed(): { id: number; ms: number }[];
  checkpoints(): { busy: number; ms: number }[];
} {
  const script = new URL("./sqlite_writer_proc.ts", import.meta.url).pathname;
  const bg = background(Deno.execPath(), [
    "run",
    "-A",
    "--quiet",
    script,
    dbPath,
    JSON.stringify(o),
  ]);
  return {
    ...bg,
    committed() {
      const rows: { id: number; ms: number }[] = [];
      for (const m of bg.output().matchAll(/^committed (\d+) (\d+)$/gm)) rows.push({ id: +m[1], ms: +m[2] });
      return rows;
    },
    /** The writer's own checkpoints (`checkpointEvery`): SQLite's busy column and how long each call took. */
    checkpoints() {
      return [...bg.output().matchAll(/^checkpoint (\d+) (\d+)$/gm)].map((m) => ({ busy: +m[1], ms: +m[2] }));
    },
  };
}

/** Creates `dbPath` in WAL mode with the empty table `t` that {@link startSqliteWriter} fills (sqlite3 CLI). */
export async function createWriterDb(dbPath: string): Promise<void> {
  const out = await new Deno.Command("sqlite3", {
    args: [
      dbPath,
      "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, payload BLOB);",
    ],
    stdout: "null",
  }).output();
  if (!out.success) throw new Error(`sqlite3 ${dbPath}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Row ids of table `t` in `dbPath`, ascending (read with the sqlite3 CLI). */
export async function rowIds(dbPath: string): Promise<number[]> {
  const out = await new Deno.Command("sqlite3", { args: [dbPath, "SELECT id FROM t ORDER BY id"] }).output();
  if (out.code !== 0) throw new Error(`sqlite3 ${dbPath}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
}

/** `PRAGMA integrity_check` of `dbPath` via the sqlite3 CLI. */
export async function integrityCheck(dbPath: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [dbPath, "PRAGMA integrity_check"] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
