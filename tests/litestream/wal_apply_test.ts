/**
 * A restore's WAL written straight into the database (lib/litestream/wal_apply.ts, docs/replica-format.md
 * "Applying the WAL"): the vectors in tests/vectors/litestream/apply/, whose expected database is what
 * the sqlite3 CLI's checkpoints of the same WALs left, and restores of replicas built from them.
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { closeSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { BadInputError } from "../../lib/errors.ts";
import { lz4CompressBytes } from "../../lib/codec/lz4/lz4.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { restoreReplica } from "../../lib/litestream/restore.ts";
import { WalApply } from "../../lib/litestream/wal_apply.ts";
import { WalFormatError, WalVerifier } from "../../lib/litestream/wal_verifier.ts";
import { buildReplica } from "./handmade_replica.ts";
import { integrityCheck, rowIds } from "../helpers/litestream.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";

const V = fileURLToPath(new URL("../vectors/litestream/apply/", import.meta.url));
const PAGE = 512;

/** Applies the WAL files `names` (from the vector directory) to a copy of snapshot.db at `db`. */
async function applyFiles(names: string[], db: string, limits?: number[]): Promise<WalApply> {
  await Deno.copyFile(`${V}snapshot.db`, db);
  const fd = openSync(db, "r+");
  try {
    const apply = new WalApply(fd, db, PAGE, limits);
    for (const name of names) {
      const verifier = new WalVerifier(apply);
      verifier.update(await Deno.readFile(`${V}${name}`));
      verifier.finish();
      apply.endIndex();
    }
    apply.finish();
    return apply;
  } finally {
    closeSync(fd);
  }
}

/** A file replica under `dir` of `snapshot` with index0.wal and index1.wal as WAL indexes 0 and 1. */
async function vectorReplica(dir: string, snapshot: Uint8Array) {
  const client = replicaClientFor(new FileBackend(`file://${dir}/replica`));
  const gen = "0123456789abcdef";
  await client.writeSnapshot(gen, 0, await lz4CompressBytes(snapshot));
  for (const [index, name] of [[0, "index0.wal"], [1, "index1.wal"]] as const) {
    const body = await lz4CompressBytes(await Deno.readFile(`${V}${name}`));
    await client.writeWalSegment({ generation: gen, index, offset: 0 }, body);
  }
  return client;
}

Deno.test("vector apply/: index0 then index1 within their commits give exactly restored.db", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-apply-" });
  try {
    const apply = await applyFiles(["index0.wal", "index1.wal"], `${dir}/db`, [1, 1]);
    assertEquals([apply.exact, apply.committedByIndex], [true, [1, 1]]);
    assertEquals(await Deno.readFile(`${dir}/db`), await Deno.readFile(`${V}restored.db`));
    // The judge is the sqlite3 CLI, which made restored.db by checkpointing the same two WALs.
    assertEquals(await sqliteQuery(`${dir}/db`, "SELECT id, name FROM t"), "1|one\n2|two\n3|three");
    assertEquals(await integrityCheck(`${dir}/db`), "ok");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vector apply/: index0's frame after its last commit, written when no limits are given, is reported", async () => {
  // The vector's extra frame turns 'two' into 'TWO' and was never committed.
  const index0 = await Deno.readFile(`${V}index0.wal`);
  const extra = index0.subarray(index0.length - (24 + PAGE));
  assertEquals(new DataView(extra.buffer, extra.byteOffset).getUint32(4), 0);
  assert(new TextDecoder("latin1").decode(extra).includes("TWO"));
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-apply-" });
  try {
    const apply = await applyFiles(["index0.wal", "index1.wal"], `${dir}/db`);
    assertEquals([apply.exact, apply.committedByIndex, apply.committedFrames], [false, [1, 1], 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vector apply/fail-page-size-1024.wal: a WAL of another page size than the database's is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-apply-" });
  try {
    await rejects(applyFiles(["index0.wal", "fail-page-size-1024.wal"], `${dir}/db`), (failure) => {
      assert(failure instanceof WalFormatError, String(failure));
      assertEquals(failure.message, "WAL page size 1024 differs from the database's 512");
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore: a replica whose WAL index ends with an uncommitted frame is restored again without it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-apply-" });
  try {
    const client = await vectorReplica(dir, await Deno.readFile(`${V}snapshot.db`));
    const lines: string[] = [];
    const result = await restoreReplica(client, { outputPath: `${dir}/out.db`, log: (l) => lines.push(l) });
    assertEquals([result.segments, result.frames], [2, 2]);
    assertEquals(await Deno.readFile(`${dir}/out.db`), await Deno.readFile(`${V}restored.db`));
    assert(lines.includes("WAL index 00000000 ends with frames no commit covers"), lines.join("\n"));
    assertEquals(lines.filter((l) => l.startsWith("restoring snapshot")).length, 2);
    assertEquals(await sqliteQuery(`${dir}/out.db`, "SELECT name FROM t WHERE id = 2"), "two");
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      n !== "replica" && n !== "out.db"
    );
    assertEquals(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore: a snapshot whose header holds an invalid page size is refused by name, nothing left", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-apply-" });
  try {
    const snapshot = await Deno.readFile(`${V}snapshot.db`);
    snapshot[16] = 0x03; // 768: not a power of two
    const client = await vectorReplica(dir, snapshot);
    await rejects(restoreReplica(client, { outputPath: `${dir}/out.db` }), (failure) => {
      assert(failure instanceof BadInputError, String(failure));
      assert(failure.message.endsWith("snapshot header has invalid page size 768"), failure.message);
      return true;
    });
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["replica"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore: the WAL applied in place gives the database SQLite's checkpoint of the same WAL gives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-wal-apply-" });
  try {
    const client = replicaClientFor(new FileBackend(`file://${dir}/replica`));
    await buildReplica(client, "0123456789abcdef", dir);
    const result = await restoreReplica(client, { outputPath: `${dir}/out.db` });
    const ids = Array.from({ length: 90 }, (_, i) => i + 1);
    assertEquals(await rowIds(`${dir}/out.db`), ids);
    assertEquals(await integrityCheck(`${dir}/out.db`), "ok");
    // The same replica through SQLite: the source database as buildReplica left it, WAL checkpointed.
    const src = `${dir}/src-0123456789abcdef.db`;
    await sqliteQuery(src, "PRAGMA wal_checkpoint(TRUNCATE)");
    assertEquals(result.bytes, (await Deno.stat(src)).size);
    assertEquals(await Deno.readFile(`${dir}/out.db`), await Deno.readFile(src));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
