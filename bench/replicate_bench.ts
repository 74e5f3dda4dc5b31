/**
 * Replication benchmark, `vigocli backup replicate` side by side with `litestream replicate`
 * (v0.3.13) on the same workload and machine, one after the other:
 *
 * - a separate writer commits one-row transactions at 300 and at 1000 per second (30 s each at scale 1,
 *   ≥ 10 s smaller);
 * - replication lag: commit → the first WAL segment holding that row is stored in the file replica
 *   (replica directory polled every 20 ms; rows are found in segments by a marker in their payload);
 * - CPU seconds per 100k transactions of the replicator in steady state (/proc, startup excluded) and
 *   its peak RSS (GNU time); CPU per second while nobody writes (the usual state of a config server);
 * - restore time of a replicated database (1 GiB × scale), by `vigocli backup replica restore` (with its
 *   default PRAGMA integrity_check) and by `litestream restore` (no check) from the same vigocli-written
 *   replica.
 */
import { join } from "node:path";
import {
  type BenchContext,
  type BenchRow,
  exists,
  measureRestoresInTurn,
  ratioGoal,
  sh,
  valueGoal,
} from "./bench_lib.ts";
import { type Background, background, writeLitestreamConfig } from "../tests/helpers/litestream.ts";
import { findMarkers, startLoad } from "../tests/helpers/sqlite_load.ts";
import { LITESTREAM } from "../tests/helpers/tools.ts";
import { lz4DecompressBytes } from "../lib/codec/lz4/lz4.ts";

const RATES = [300, 1000];
const SYNC = "1s";

interface RunFigures {
  p50: number;
  p99: number;
  cpuPer100k: number;
  peakRssMiB: number;
  missing: number;
}

async function serverYaml(dir: string, db: string, replica: string): Promise<string> {
  const path = join(dir, "server.yaml");
  await Deno.writeTextFile(
    path,
    `database:\n  driver: sqlite\n  path: ${db}\nbackup:\n  url: "file://${replica}"\n  sync_interval: "${SYNC}"\n`,
  );
  return path;
}

/** The command line replicating `db` into the file replica `replica` (configs written into `dir`). */
async function replicatorCommand(
  ctx: BenchContext,
  tool: "vigocli" | "litestream",
  dir: string,
  db: string,
  replica: string,
): Promise<string[]> {
  if (tool === "vigocli") {
    const yaml = await serverYaml(dir, db, replica);
    return [...ctx.vigocli, "backup", "replicate", "--server-yaml", yaml, "--server-root", dir];
  }
  const config = await writeLitestreamConfig(join(dir, "ls.yml"), {
    dbPath: db,
    replicaUrl: `file://${replica}`,
    syncInterval: SYNC,
  });
  return [LITESTREAM, "replicate", "-config", config];
}

/** Starts a replicator under GNU time so its CPU and peak RSS are reported on exit. */
function timed(cmd: string[]): Background {
  return background("/usr/bin/time", ["-f", "BENCHTIME %U %S %M", ...cmd]);
}

/** User + system CPU seconds so far of the replicator running under GNU time (from /proc). */
async function cpuSeconds(bg: Background): Promise<number> {
  const kids = await new Deno.Command("pgrep", { args: ["-P", String(bg.child.pid)], stdout: "piped" })
    .output();
  const pid = new TextDecoder().decode(kids.stdout).split("\n").filter(Boolean)[0];
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name; clock ticks of 1/100 s.
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** GNU time does not forward signals: SIGTERM its child (the replicator), then wait for both. */
async function stopTimed(bg: Background): Promise<void> {
  const kids = await new Deno.Command("pgrep", { args: ["-P", String(bg.child.pid)], stdout: "piped" })
    .output();
  for (const pid of new TextDecoder().decode(kids.stdout).split("\n").filter(Boolean)) {
    Deno.kill(Number(pid), "SIGTERM");
  }
  await bg.stop("SIGCONT");
}

async function listSegments(replica: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const g of Deno.readDir(join(replica, "generations"))) {
      const dir = join(replica, "generations", g.name, "wal");
      try {
        for await (const f of Deno.readDir(dir)) if (f.name.endsWith(".wal.lz4")) out.push(join(dir, f.name));
      } catch {
        // No WAL directory yet.
      }
    }
  } catch {
    // No replica yet.
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measureReplication(
  ctx: BenchContext,
  tool: "vigocli" | "litestream",
  rate: number,
): Promise<RunFigures> {
  const dir = await Deno.makeTempDir({ dir: ctx.workDir, prefix: `${tool}-` });
  const db = join(dir, "app.db");
  const replica = join(dir, "replica");
  const seconds = ctx.scale >= 1 ? 30 : Math.max(10, Math.round(30 * ctx.scale));
  const load = startLoad(db, { txPerSecond: rate });
  await load.waitFor(/committed 1 /);
  const repl = timed(await replicatorCommand(ctx, tool, dir, db, replica));
  const firstSeen = new Map<string, number>();
  const started = Date.now();
  const end = started + seconds * 1000;
  let loadStopped = false;
  // Steady-state CPU: sampled from 3 s after start (startup and first snapshot excluded) to the
  // end of the load, divided by the transactions committed in that window.
  let cpu0: { cpu: number; tx: number } | null = null;
  let cpu1: { cpu: number; tx: number } | null = null;
  // Keep polling 3 s after the load stops so the last commits' segments are seen too.
  while (Date.now() < end + 3000) {
    if (!cpu0 && Date.now() >= started + 3000) {
      cpu0 = { cpu: await cpuSeconds(repl), tx: load.committed().size };
    }
    if (Date.now() >= end && !loadStopped) {
      cpu1 = { cpu: await cpuSeconds(repl), tx: load.committed().size };
      await load.stop();
      loadStopped = true;
    }
    for (const s of await listSegments(replica)) if (!firstSeen.has(s)) firstSeen.set(s, Date.now());
    await new Promise((r) => setTimeout(r, 20));
  }
  await stopTimed(repl);
  const times = /BENCHTIME ([\d.]+) ([\d.]+) (\d+)/.exec(repl.output());
  if (!times) throw new Error(`${tool}: no timing output:\n${repl.output().slice(-2000)}`);
  const committed = load.committed();
  const durable = new Map<number, number>();
  for (const [path, seen] of [...firstSeen].sort((a, b) => a[1] - b[1])) {
    for (const id of findMarkers(await lz4DecompressBytes(await Deno.readFile(path)))) {
      if (!durable.has(id)) durable.set(id, seen);
    }
  }
  const lags: number[] = [];
  let missing = 0;
  for (const [id, ms] of committed) {
    const d = durable.get(id);
    if (d === undefined) missing++;
    else lags.push(d - ms);
  }
  lags.sort((a, b) => a - b);
  return {
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    cpuPer100k: ((cpu1!.cpu - cpu0!.cpu) * 100_000) / (cpu1!.tx - cpu0!.tx),
    peakRssMiB: Number(times[3]) / 1024,
    missing,
  };
}

/**
 * CPU of a replicator with nothing to replicate (most of a configuration server's life): ms per second
 * over 30 s (× scale, ≥ 10 s), from 5 s after start, on a small WAL database (1000 rows) nobody writes.
 */
async function measureIdle(ctx: BenchContext, tool: "vigocli" | "litestream"): Promise<number> {
  const dir = await Deno.makeTempDir({ dir: ctx.workDir, prefix: `${tool}-idle-` });
  const db = join(dir, "app.db");
  const replica = join(dir, "replica");
  await makeDb(db, 0);
  const repl = timed(await replicatorCommand(ctx, tool, dir, db, replica));
  try {
    await new Promise((r) => setTimeout(r, 5000));
    const seconds = Math.max(10, Math.round(30 * ctx.scale));
    const before = await cpuSeconds(repl);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return ((await cpuSeconds(repl)) - before) * 1000 / seconds;
  } finally {
    await stopTimed(repl);
  }
}

async function makeDb(path: string, bytes: number): Promise<void> {
  const rows = Math.max(1000, Math.round(bytes / 600));
  const sql = `PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
    CREATE TABLE nodes(id INTEGER PRIMARY KEY, name TEXT, payload TEXT);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows})
    INSERT INTO nodes(name, payload) SELECT 'node-' || i, hex(randomblob(270)) FROM c;`;
  const out = await new Deno.Command("sqlite3", { args: [path, sql], stdout: "null" }).output();
  if (!out.success) throw new Error("sqlite3 failed to generate the benchmark database");
}

async function restoreTimes(ctx: BenchContext): Promise<{ ours: number; peer: number; mib: number }> {
  const dir = join(ctx.workDir, "replicate-restore");
  const db = join(dir, "app.db");
  const replica = join(dir, "replica");
  const mib = () => Deno.statSync(db).size / 1024 ** 2;
  if (await exists(replica)) return await timeRestores(ctx, dir, replica, mib());
  await Deno.mkdir(dir, { recursive: true });
  await makeDb(db, Math.max(32 * 1024 ** 2, 1024 ** 3 * ctx.scale));
  const repl = background(ctx.vigocli[0], [
    ...ctx.vigocli.slice(1),
    "backup",
    "replicate",
    "--server-yaml",
    await serverYaml(dir, db, replica),
    "--server-root",
    dir,
  ]);
  await repl.waitFor(/replication started/, 30 * 60_000);
  await repl.stop("SIGTERM");
  return await timeRestores(ctx, dir, replica, mib());
}

async function timeRestores(
  ctx: BenchContext,
  dir: string,
  replica: string,
  mib: number,
): Promise<{ ours: number; peer: number; mib: number }> {
  const vigo = ctx.vigocli.map(sh).join(" ");
  const { ours, peer } = await measureRestoresInTurn(
    {
      ours: `${vigo} backup replica restore --url file://${replica} -o ${sh(join(dir, "ours.db"))}`,
      peer: `${sh(LITESTREAM)} restore -o ${sh(join(dir, "peer.db"))} file://${replica}`,
    },
    [join(dir, "ours.db"), join(dir, "peer.db")],
    ctx.run ?? 0,
  );
  return { ours: ours.seconds, peer: peer.seconds, mib };
}

/** Runs the comparison. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const peerName = "litestream v0.3.13";
  const lagTarget = 1000 + 250;
  const rows: BenchRow[] = [];
  let rss = { ours: 0, peer: 0 };
  for (const rate of RATES) {
    const ours = await measureReplication(ctx, "vigocli", rate);
    const peer = await measureReplication(ctx, "litestream", rate);
    rss = { ours: Math.max(rss.ours, ours.peakRssMiB), peer: Math.max(rss.peer, peer.peakRssMiB) };
    rows.push(
      {
        name: `replication lag p50 (${rate} tx/s, sync ${SYNC})`,
        ours: ours.p50,
        peer: peer.p50,
        peerName,
        unit: "ms",
      },
      {
        name: `replication lag p99 (${rate} tx/s, sync ${SYNC})`,
        ours: ours.p99,
        peer: peer.p99,
        peerName,
        unit: "ms",
        ...valueGoal(lagTarget, "ms"),
      },
      {
        name: `replicator CPU per 100k transactions at ${rate} tx/s`,
        ours: ours.cpuPer100k,
        peer: peer.cpuPer100k,
        peerName,
        unit: "s",
        ...ratioGoal(1.0),
      },
      {
        name: `rows never seen in a segment before shutdown (${rate} tx/s)`,
        ours: ours.missing,
        peer: peer.missing,
        peerName,
        unit: "rows",
      },
    );
  }
  const idle = { ours: await measureIdle(ctx, "vigocli"), peer: await measureIdle(ctx, "litestream") };
  rows.push({
    name: `replicator CPU while the database is idle (sync ${SYNC})`,
    ours: idle.ours,
    peer: idle.peer,
    peerName,
    unit: "ms/s",
  });
  rows.push({
    name: "replicator peak RSS (max over both rates)",
    ours: rss.ours,
    peer: rss.peer,
    peerName,
    unit: "MiB",
    ...ratioGoal(1.2),
  });
  const restore = await restoreTimes(ctx);
  rows.push({
    name: `replica restore incl. integrity_check (${restore.mib.toFixed(0)} MiB DB)`,
    ours: restore.ours,
    peer: restore.peer,
    peerName: "litestream restore (no check)",
    unit: "s",
    ...ratioGoal(1.0),
  });
  return rows;
}
