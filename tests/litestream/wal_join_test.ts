/**
 * The joined WAL of a restore (lib/litestream/wal_join.ts, docs/replica-format.md "Joined WAL"): the
 * vectors in tests/vectors/litestream/join/, judged by the sqlite3 CLI, and restores that checkpoint
 * the joined WAL in one go or index by index (walBatchBytes) ending in the same database.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { closeSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { restoreReplica } from "../../lib/litestream/restore.ts";
import { WalJoin } from "../../lib/litestream/wal_join.ts";
import { WalFormatError, WalVerifier } from "../../lib/litestream/wal_verifier.ts";
import { buildReplica } from "./handmade_replica.ts";
import { integrityCheck, rowIds } from "../helpers/litestream.ts";

const V = fileURLToPath(new URL("../vectors/litestream/join/", import.meta.url));

/** Joins the WAL files `names` (from the vector directory) into `out`; returns the committed frames. */
async function joinFiles(names: string[], out: string): Promise<number> {
  const fd = openSync(out, "w");
  try {
    const join = new WalJoin(fd, out);
    for (const name of names) {
      const verifier = new WalVerifier(join);
      verifier.update(await Deno.readFile(`${V}${name}`));
      verifier.finish();
      join.endIndex();
    }
    return join.committedFrames;
  } finally {
    closeSync(fd);
  }
}

function sqlite3(db: string, sql: string): string {
  const out = new Deno.Command("sqlite3", { args: [db, sql], stdout: "piped", stderr: "piped" }).outputSync();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("vector join/: two WAL indexes joined into exactly joined.wal, which SQLite replays onto the snapshot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-join-" });
  try {
    const frames = await joinFiles(["index0.wal", "index1.wal"], `${dir}/joined.wal`);
    const joined = await Deno.readFile(`${dir}/joined.wal`);
    assertEquals(joined, await Deno.readFile(`${V}joined.wal`));
    // index0's header and commit frame, then index1's frame; index0's uncommitted frame is cut.
    assertEquals([frames, joined.length], [2, 32 + 2 * (24 + 512)]);
    await Deno.copyFile(`${V}snapshot.db`, `${dir}/db`);
    await Deno.copyFile(`${dir}/joined.wal`, `${dir}/db-wal`);
    // The judge is the sqlite3 CLI: a frame off the chain would end the WAL there and lose row 3.
    assertEquals(sqlite3(`${dir}/db`, "SELECT id, name FROM t"), "1|one\n2|two\n3|three\n");
    assertEquals(sqlite3(`${dir}/db`, "PRAGMA integrity_check"), "ok\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vector join/: index0 ends with an uncommitted frame, and joined.wal leaves it out", async () => {
  // Why the cut matters: the vector's extra frame turns 'two' into 'TWO' and was never committed.
  const index0 = await Deno.readFile(`${V}index0.wal`);
  const extra = index0.subarray(index0.length - (24 + 512));
  assertEquals(new DataView(extra.buffer, extra.byteOffset).getUint32(4), 0);
  assert(new TextDecoder("latin1").decode(extra).includes("TWO"));
  const joined = await Deno.readFile(`${V}joined.wal`);
  assert(!new TextDecoder("latin1").decode(joined).includes("TWO"));
});

Deno.test("vector join/fail-page-size-1024.wal: an index of another page size is refused by name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-join-" });
  try {
    let failure: unknown;
    try {
      await joinFiles(["index0.wal", "fail-page-size-1024.wal"], `${dir}/joined.wal`);
    } catch (err) {
      failure = err;
    }
    assert(failure instanceof WalFormatError, String(failure));
    assertEquals(failure.message, "WAL page size 1024 differs from the first index's 512");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore: the joined WAL checkpointed in one go or index by index gives the same database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-join-" });
  try {
    const backend = new FileBackend(`file://${dir}/replica`);
    const client = replicaClientFor(backend);
    await buildReplica(client, "0123456789abcdef", dir);
    const whole = await restoreReplica(client, { outputPath: `${dir}/whole.db` });
    const split = await restoreReplica(client, { outputPath: `${dir}/split.db`, walBatchBytes: 1 });
    assertEquals([whole.segments, whole.frames], [split.segments, split.frames]);
    const ids = Array.from({ length: 90 }, (_, i) => i + 1);
    assertEquals(await rowIds(`${dir}/whole.db`), ids);
    assertEquals(await rowIds(`${dir}/split.db`), ids);
    assertEquals(await integrityCheck(`${dir}/split.db`), "ok");
    assertEquals(await Deno.readFile(`${dir}/whole.db`), await Deno.readFile(`${dir}/split.db`));
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /-wal$|-shm$|\.tmp/.test(n));
    assertEquals(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
