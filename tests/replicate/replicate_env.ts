/**
 * Shared set-up for the replication tests: a throw-away server root with a server.yaml pointing at
 * a file:// replica, `vigocli backup replicate` as a background process, and checks on the replica
 * and on restored databases.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { cliCommand } from "../helpers/cli.ts";
import { type Background, background, integrityCheck, rowIds } from "../helpers/litestream.ts";
import { lz4DecompressBytes } from "../../lib/codec/lz4/lz4.ts";
import type { S3Server } from "../helpers/s3_server.ts";
import { openBackend } from "../../lib/backends.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { restoreReplica } from "../../lib/litestream/restore.ts";

/** A server root for one test. */
export interface TestRoot {
  root: string;
  yaml: string;
  db: string;
  replicaDir: string;
  url: string;
}

/** Options of {@link makeRoot}. */
export interface RootOptions {
  syncInterval?: string;
  snapshotInterval?: string;
  retention?: string;
  /** Replace the `url:` line (e.g. an s3:// URL) and add extra `backup:` lines. */
  url?: string;
  extraBackup?: string[];
}

/** Creates `<tmp>/server.yaml` + `<tmp>/db/` and returns the paths. */
export async function makeRoot(o: RootOptions = {}): Promise<TestRoot> {
  const root = await Deno.makeTempDir({ prefix: "vigo-repl-" });
  await Deno.mkdir(`${root}/db`);
  const replicaDir = `${root}/replica`;
  const url = o.url ?? `file://${replicaDir}`;
  const lines = [
    "database:",
    "  driver: sqlite",
    `  path: ${root}/db/vigo.db`,
    "backup:",
    `  url: ${JSON.stringify(url)}`,
    `  sync_interval: ${JSON.stringify(o.syncInterval ?? "1s")}`,
    `  snapshot_interval: ${JSON.stringify(o.snapshotInterval ?? "24h")}`,
    `  retention: ${JSON.stringify(o.retention ?? "720h")}`,
    ...(o.extraBackup ?? []).map((l) => `  ${l}`),
  ];
  await Deno.writeTextFile(`${root}/server.yaml`, lines.join("\n") + "\n");
  return { root, yaml: `${root}/server.yaml`, db: `${root}/db/vigo.db`, replicaDir, url };
}

/** {@link makeRoot} with the replica at `url` on `s3` (its endpoint, region and keys, path style). */
export async function makeS3Root(
  s3: S3Server,
  url: string,
  o: Omit<RootOptions, "url"> = {},
): Promise<TestRoot> {
  const c = s3.config();
  return await makeRoot({
    ...o,
    url,
    extraBackup: [
      `endpoint: ${JSON.stringify(c.endpoint)}`,
      `region: ${JSON.stringify(c.region)}`,
      "force_path_style: true",
      `access_key_id: ${JSON.stringify(c.accessKeyId)}`,
      `secret_access_key: ${JSON.stringify(c.secretAccessKey)}`,
      ...(o.extraBackup ?? []),
    ],
  });
}

/** Restores the replica at `url` on `s3` to `out` with our own restore. */
export async function restoreFromS3(s3: S3Server, url: string, out: string): Promise<void> {
  const backend = await openBackend(url, { scheme: "s3", ...s3.config() });
  try {
    await restoreReplica(replicaClientFor(backend), { outputPath: out });
  } finally {
    await backend.close();
  }
}

/** The command line of `vigocli backup replicate` for `r`: program first, then its arguments. */
export function replicateCommand(r: TestRoot): [string, ...string[]] {
  const [cmd, ...pre] = cliCommand();
  return [cmd, ...pre, "backup", "replicate", "--server-yaml", r.yaml, "--server-root", r.root];
}

/** Starts `vigocli backup replicate` for `r` and waits until it has replicated once. */
export async function startReplicate(r: TestRoot, env?: Record<string, string>): Promise<Background> {
  const [cmd, ...args] = replicateCommand(r);
  const bg = background(cmd, args, env);
  started.add(bg);
  try {
    await bg.waitFor(/replication started/, 120_000);
  } catch (err) {
    await bg.kill();
    throw err;
  }
  return bg;
}

// Replicators started by startReplicate: a test's `finally` kills those still running, so a failed
// assertion between start and stop does not leave an orphan replicating a deleted directory.
const started = new Set<Background>();

/** SIGKILLs every replicator {@link startReplicate} started that is still running (for `finally`). */
export async function killReplicators(): Promise<void> {
  for (const bg of started) await bg.kill();
  started.clear();
}

/** Sends SIGKILL to a background process and waits for it. */
export async function kill9(bg: Background): Promise<void> {
  await bg.stop("SIGKILL");
}

/** Asserts the restored database passes integrity_check and holds exactly `ids` in table t. */
export async function assertRows(dbPath: string, ids: number[], what: string): Promise<void> {
  assertEquals(await integrityCheck(dbPath), "ok", `${what}: integrity_check`);
  const got = await rowIds(dbPath);
  const want = [...ids].sort((a, b) => a - b);
  assertEquals(
    got.length,
    want.length,
    `${what}: row count (restored ${got.length}, committed ${want.length})`,
  );
  assertEquals(got, want, `${what}: row ids`);
}

/** Asserts `got` is 1..n for some n (a consistent prefix of one-row-per-transaction commits). */
export function assertPrefix(got: number[], what: string): void {
  for (let i = 0; i < got.length; i++) {
    assertEquals(got[i], i + 1, `${what}: rows are a prefix of the commits`);
  }
}

/**
 * Asserts every WAL index of every generation in a file:// replica is a contiguous run of segments
 * starting at offset 0 (what Litestream's restore demands: #224, #535, #805), and that every
 * generation has a snapshot.
 */
export async function assertReplicaContinuous(replicaDir: string): Promise<string[]> {
  const gens: string[] = [];
  for await (const g of Deno.readDir(`${replicaDir}/generations`)) gens.push(g.name);
  for (const g of gens) {
    const snaps: string[] = [];
    for await (const s of Deno.readDir(`${replicaDir}/generations/${g}/snapshots`)) snaps.push(s.name);
    assert(snaps.some((s) => s.endsWith(".snapshot.lz4")), `generation ${g} has a snapshot`);
    const segs: { index: number; offset: number; name: string }[] = [];
    const walDir = `${replicaDir}/generations/${g}/wal`;
    const names = await Array.fromAsync(Deno.readDir(walDir)).catch(() => []);
    for (const s of names) {
      const m = /^([0-9a-f]{8})_([0-9a-f]{8})\.wal\.lz4$/.exec(s.name);
      if (m) segs.push({ index: parseInt(m[1], 16), offset: parseInt(m[2], 16), name: s.name });
    }
    segs.sort((a, b) => a.index - b.index || a.offset - b.offset);
    let expect = { index: -1, offset: 0 };
    for (const s of segs) {
      if (s.index !== expect.index) expect = { index: s.index, offset: 0 };
      assertEquals(s.offset, expect.offset, `generation ${g}: segment ${s.name} continues its index`);
      const body = await lz4DecompressBytes(
        await Deno.readFile(`${replicaDir}/generations/${g}/wal/${s.name}`),
      );
      expect.offset += body.length;
    }
  }
  return gens;
}

/** Tests default to 25 s of steady load; `VIGO_LONG_TESTS=1` runs the full 60 s the issue names. */
export const STEADY_SECONDS = Number(
  Deno.env.get("VIGO_STEADY_SECONDS") ?? (Deno.env.get("VIGO_LONG_TESTS") === "1" ? 60 : 25),
);
