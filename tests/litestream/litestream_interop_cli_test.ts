/**
 * Interop with the real Litestream v0.3.13: `litestream replicate` replicates a database written by
 * a separate process; `vigocli backup replica restore` (run as a process) restores it — every
 * committed row, point in time, a deleted segment reported as a gap, and the newest generation
 * chosen by its data, not its ID.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type CliResult, runCli } from "../helpers/cli.ts";
import {
  createWriterDb,
  integrityCheck,
  rowIds,
  sleep,
  startLitestreamReplicate,
  startSqliteWriter,
  writeLitestreamConfig,
} from "../helpers/litestream.ts";

interface Replicated {
  dir: string;
  db: string;
  replica: string;
  /** Committed rows with their commit times, in order. */
  committed: { id: number; ms: number }[];
}

/**
 * One litestream run: a writer for half of `seconds`, a quiet moment (`onMid`) once Litestream has
 * moved past its first WAL index and uploaded every row, a writer for the other half, then quiet until
 * everything is uploaded.
 * Litestream names a snapshot by its WAL index alone and writes it again every snapshot interval while
 * the index lasts: on a loaded machine its checkpoints failed ('database is locked') while the writer
 * ran on, the index stayed 0 past the middle of one continuous run, the first snapshot's time moved past
 * it, and a restore to the middle found no snapshot (3 of 3 loaded runs). Idle, it checkpoints and moves on.
 */
async function replicateRun(
  dir: string,
  seconds: number,
  onMid?: () => void,
): Promise<{ id: number; ms: number }[]> {
  const db = `${dir}/app.db`;
  const config = await writeLitestreamConfig(`${dir}/litestream.yml`, {
    dbPath: db,
    replicaUrl: `file://${dir}/replica`,
    syncInterval: "100ms",
    monitorInterval: "100ms",
    snapshotInterval: "2s",
    retention: "24h",
    minCheckpointPageCount: 200,
    checkpointInterval: "2s",
  });
  const ls = startLitestreamReplicate(config);
  const half = { txPerSecond: 150, payload: 400, maxTx: (150 * seconds) / 2 };
  try {
    await ls.waitFor(/initialized db|replicating to/, 20_000);
    const first = startSqliteWriter(db, half);
    assertEquals(await first.wait(), 0, first.output());
    await pastFirstIndex(`${dir}/replica`);
    await holdsRows(dir, first.committed().map((c) => c.id));
    onMid?.();
    const second = startSqliteWriter(db, half);
    assertEquals(await second.wait(), 0, second.output());
    // sync-interval and monitor-interval are 100 ms: give the last commits ample time to land.
    await sleep(2_000);
    return [...first.committed(), ...second.committed()];
  } finally {
    await ls.stop("SIGTERM");
  }
}

/** Waits until a restore of the replica in `dir` holds every row of `ids` (at most 120 s). */
async function holdsRows(dir: string, ids: number[]): Promise<void> {
  const probe = `${dir}/probe.db`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    await Deno.remove(probe).catch(() => {});
    const r = await runCli(["backup", "replica", "restore", "--url", `file://${dir}/replica`, "-o", probe]);
    const got = r.code === 0 ? new Set(await rowIds(probe)) : new Set<number>();
    await Deno.remove(probe).catch(() => {});
    if (ids.every((id) => got.has(id))) return;
    assert(Date.now() < deadline, `the replica lacks rows committed 120 s ago: ${r.stderr}`);
    await sleep(200);
  }
}

/** Waits until the file replica at `replica` holds a WAL segment past index 0 (at most 120 s). */
async function pastFirstIndex(replica: string): Promise<void> {
  const segments = () =>
    Array.from(Deno.readDirSync(`${replica}/generations`)).flatMap((g) => {
      try {
        return Array.from(Deno.readDirSync(`${replica}/generations/${g.name}/wal`)).map((f) => f.name);
      } catch {
        return [];
      }
    });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if (
        segments().some((name) =>
          /^[0-9a-f]{8}_[0-9a-f]{8}\.wal\.lz4$/.test(name) && !name.startsWith("00000000_")
        )
      ) {
        return;
      }
    } catch {
      // no generation yet
    }
    assert(Date.now() < deadline, `no WAL index past 0 in ${replica} within 120 s`);
    await sleep(100);
  }
}

async function setup(): Promise<Replicated> {
  const dir = await Deno.makeTempDir({ prefix: "vigo-ls-interop-" });
  const db = `${dir}/app.db`;
  await createWriterDb(db);
  return { dir, db, replica: `${dir}/replica`, committed: [] };
}

/** `vigocli backup replica restore` of the test replica into `out`, with `extra` options. */
function restoreReplica(r: Replicated, out: string, ...extra: string[]): Promise<CliResult> {
  return runCli(["backup", "replica", "restore", "--url", `file://${r.replica}`, "-o", out, ...extra]);
}

async function walSegments(replica: string): Promise<string[]> {
  const out: string[] = [];
  for await (const g of Deno.readDir(`${replica}/generations`)) {
    for await (const f of Deno.readDir(`${replica}/generations/${g.name}/wal`)) {
      if (f.name.endsWith(".wal.lz4")) out.push(`${replica}/generations/${g.name}/wal/${f.name}`);
    }
  }
  return out.sort();
}

Deno.test("litestream replicate → vigocli replica restore: every committed row, then PITR, then a gap", async () => {
  const r = await setup();
  try {
    let mid = 0;
    r.committed = await replicateRun(r.dir, 8, () => (mid = Date.now()));
    assert(r.committed.length > 300, `writer committed only ${r.committed.length} rows`);

    const list = await runCli(["backup", "replica", "list", "--url", `file://${r.replica}`, "--json"]);
    assertEquals(list.code, 0, list.stderr);
    const summary = JSON.parse(list.stdout);
    assertEquals(summary.generations.length, 1);
    assert(summary.generations[0].snapshots.length >= 2, list.stdout);
    assert(summary.generations[0].wal_last.index >= 1, `expected several WAL indexes: ${list.stdout}`);

    const out = `${r.dir}/restored.db`;
    const res = await restoreReplica(r, out);
    assertEquals(res.code, 0, res.stderr);
    assertEquals(await rowIds(out), r.committed.map((c) => c.id));
    assertEquals(await integrityCheck(out), "ok");

    // Point in time: a prefix of the rows, nothing committed after T, everything before T.
    const t = new Date(mid);
    const pit = `${r.dir}/pit.db`;
    const p = await restoreReplica(r, pit, "--timestamp", t.toISOString());
    assertEquals(p.code, 0, p.stderr);
    const ids = await rowIds(pit);
    assertEquals(ids, r.committed.slice(0, ids.length).map((c) => c.id));
    const byId = new Map(r.committed.map((c) => [c.id, c.ms]));
    assert(byId.get(ids[ids.length - 1])! <= +t, "restored a row committed after the timestamp");
    // Quiet around T, everything before it uploaded: exactly the rows committed before it.
    const mustHave = r.committed.filter((c) => c.ms <= +t).length;
    assertEquals(ids.length, mustHave, `PITR restored ${ids.length} rows, expected ${mustHave}`);
    assertEquals(await integrityCheck(pit), "ok");

    // Remove a WAL segment from the middle of an index the restore needs: a named gap, exit 4, no output.
    const segs = await walSegments(r.replica);
    const byIndex = new Map<string, string[]>();
    for (const s of segs) {
      const idx = s.slice(s.lastIndexOf("/") + 1, s.lastIndexOf("/") + 9);
      byIndex.set(idx, [...(byIndex.get(idx) ?? []), s]);
    }
    const victimIndex = [...byIndex.values()].reverse().find((l) => l.length >= 3);
    assert(victimIndex, `no WAL index with 3+ segments: ${segs.join(" ")}`);
    await Deno.remove(victimIndex[1]);
    // Drop the snapshots taken after that index, so the restore has to replay through it.
    const victimIdx = parseInt(
      victimIndex[1].slice(victimIndex[1].lastIndexOf("/") + 1, victimIndex[1].lastIndexOf("/") + 9),
      16,
    );
    const snapDir = victimIndex[1].replace(/\/wal\/[^/]+$/, "/snapshots");
    for await (const f of Deno.readDir(snapDir)) {
      if (parseInt(f.name.slice(0, 8), 16) > victimIdx) await Deno.remove(`${snapDir}/${f.name}`);
    }
    const gap = await restoreReplica(r, `${r.dir}/gap.db`);
    assertEquals(gap.code, 4, gap.stderr);
    assert(/WAL gap/.test(gap.stderr), gap.stderr);
    assert(!(await Deno.stat(`${r.dir}/gap.db`).catch(() => null)));
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("two litestream generations: restore picks the newest data, not the largest generation ID", async () => {
  const r = await setup();
  try {
    const first = await replicateRun(r.dir, 2);
    // Losing Litestream's local state makes the next run start a new generation.
    await Deno.remove(`${r.dir}/.app.db-litestream`, { recursive: true });
    const second = await replicateRun(r.dir, 2);
    const gens = [];
    for await (const g of Deno.readDir(`${r.replica}/generations`)) gens.push(g.name);
    assertEquals(gens.length, 2, gens.join(" "));
    // Which one is newer is random; rename so the newer one sorts first (renames keep mtimes).
    const times = await Promise.all(gens.map(async (g) => {
      let newest = 0;
      for await (const f of Deno.readDir(`${r.replica}/generations/${g}/wal`)) {
        newest = Math.max(
          newest,
          (await Deno.stat(`${r.replica}/generations/${g}/wal/${f.name}`)).mtime!.getTime(),
        );
      }
      return newest;
    }));
    const [older, newer] = times[0] < times[1] ? gens : [gens[1], gens[0]];
    await Deno.rename(`${r.replica}/generations/${older}`, `${r.replica}/generations/ffffffffffffffff`);
    await Deno.rename(`${r.replica}/generations/${newer}`, `${r.replica}/generations/0000000000000000`);
    const out = `${r.dir}/restored.db`;
    const res = await restoreReplica(r, out, "--json");
    assertEquals(res.code, 0, res.stderr);
    assertEquals(JSON.parse(res.stdout).generation, "0000000000000000");
    assertEquals(await rowIds(out), [...first, ...second].map((c) => c.id));
    const old = await restoreReplica(r, `${r.dir}/old.db`, "--generation", "ffffffffffffffff");
    assertEquals(old.code, 0, old.stderr);
    assertEquals(await rowIds(`${r.dir}/old.db`), first.map((c) => c.id));
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});
