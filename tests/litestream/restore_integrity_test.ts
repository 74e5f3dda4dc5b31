/**
 * A replica can pass every checksum and still hold a broken database: the LZ4 frames and the WAL
 * checksum chain only prove the bytes are the ones stored. Here the WAL's pages are altered and the
 * chain recomputed, as a buggy writer would have stored them, so only integrity_check of the
 * restored database (snapshot + WAL) can notice.
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { restoreReplica } from "../../lib/litestream/restore.ts";
import { lz4CompressBytes } from "../../lib/codec/lz4/lz4.ts";
import { ExitCode, VerifyError } from "../../lib/errors.ts";
import {
  frameSize,
  parseFrameHeader,
  parseWalHeader,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  walChecksum,
  type WalHeader,
} from "../../lib/sqlite/wal_format.ts";
import { integrityCheck } from "../helpers/litestream.ts";

const GEN = "0123456789abcdef";
const TABLE_LEAF = 0x0d;

/** Every frame of `wal`: its offset and its page. */
function* frames(wal: Uint8Array, hdr: WalHeader): Generator<{ off: number; page: Uint8Array }> {
  const size = frameSize(hdr.pageSize);
  for (let off = WAL_HEADER_SIZE; off + size <= wal.length; off += size) {
    yield { off, page: wal.subarray(off + WAL_FRAME_HEADER_SIZE, off + size) };
  }
}

/** The marker's bytes in every table b-tree leaf page of `wal` changed (index pages keep them); returns how many. */
function breakTableRows(wal: Uint8Array, hdr: WalHeader, marker: string, replacement: string): number {
  const from = new TextEncoder().encode(marker);
  const to = new TextEncoder().encode(replacement);
  let changed = 0;
  for (const { off, page } of frames(wal, hdr)) {
    if (page[parseFrameHeader(wal, off).pageNo === 1 ? 100 : 0] !== TABLE_LEAF) continue;
    for (let i = 0; i + from.length <= page.length; i++) {
      if (from.every((b, k) => page[i + k] === b)) {
        page.set(to, i);
        changed++;
      }
    }
  }
  return changed;
}

/** Recomputes every frame's checksum, so the altered WAL is one SQLite and our verifier accept. */
function rechain(wal: Uint8Array, hdr: WalHeader): void {
  const view = new DataView(wal.buffer, wal.byteOffset, wal.byteLength);
  let s: [number, number] = [hdr.checksum1, hdr.checksum2];
  for (const { off, page } of frames(wal, hdr)) {
    s = walChecksum(hdr.bigEndianChecksum, s[0], s[1], wal, off, off + 8);
    s = walChecksum(hdr.bigEndianChecksum, s[0], s[1], page);
    view.setUint32(off + 16, s[0]);
    view.setUint32(off + 20, s[1]);
  }
}

Deno.test("a replica whose WAL passes every checksum but breaks the database fails integrity_check (exit 8), leaving nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-restore-integrity-" });
  try {
    const src = `${dir}/src.db`;
    const db = new DatabaseSync(src);
    db.exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA page_size=4096;");
    db.exec(
      "CREATE TABLE nodes (id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX nodes_name ON nodes(name);",
    );
    db.exec("INSERT INTO nodes (name) VALUES ('base-1'), ('base-2')");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const snapshot = await Deno.readFile(src);
    db.exec(
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50) " +
        "INSERT INTO nodes (name) SELECT 'MARKER-' || i FROM c",
    );
    const wal = await Deno.readFile(`${src}-wal`);
    db.close();

    const hdr = parseWalHeader(wal);
    assert(hdr, "SQLite wrote no valid WAL header");
    const changed = breakTableRows(wal, hdr, "MARKER-", "MARKES-");
    assert(changed >= 50, `only ${changed} rows altered`);
    rechain(wal, hdr);

    const backend = new FileBackend(`file://${dir}/replica`);
    const client = replicaClientFor(backend);
    await client.writeSnapshot(GEN, 0, await lz4CompressBytes(snapshot));
    await client.writeWalSegment({ generation: GEN, index: 0, offset: 0 }, await lz4CompressBytes(wal));

    await rejects(restoreReplica(client, { outputPath: `${dir}/out.db` }), (failure) => {
      assert(failure instanceof VerifyError, String(failure));
      assertEquals(failure.exitCode, ExitCode.VerifyFailed);
      assert(/restored database fails integrity_check: .*nodes_name/.test(failure.message), failure.message);
      return true;
    });
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes("out.db"));
    assertEquals(left, []);

    // The same replica without the check restores: every stored byte was valid, only the check saw it.
    await restoreReplica(client, { outputPath: `${dir}/unchecked.db`, integrityCheck: false });
    assert((await integrityCheck(`${dir}/unchecked.db`)).includes("nodes_name"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a restored database too damaged for integrity_check to run is a failed check (exit 8), not an internal error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-restore-malformed-" });
  try {
    const src = `${dir}/src.db`;
    const db = new DatabaseSync(src);
    db.exec("PRAGMA journal_mode=WAL; CREATE TABLE nodes (id INTEGER PRIMARY KEY, name TEXT);");
    db.exec("INSERT INTO nodes (name) VALUES ('a'), ('b'); PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    const snapshot = await Deno.readFile(src);
    // sqlite_schema's page type byte: SQLite cannot even read the schema ("database disk image is
    // malformed"), as when a replica lacks a segment whose pages later ones build on (found by review).
    snapshot[100] = 0xff;
    const client = replicaClientFor(new FileBackend(`file://${dir}/replica`));
    await client.writeSnapshot(GEN, 0, await lz4CompressBytes(snapshot));
    await rejects(restoreReplica(client, { outputPath: `${dir}/out.db` }), (failure) => {
      assert(failure instanceof VerifyError, String(failure));
      assertEquals(failure.exitCode, ExitCode.VerifyFailed);
      assert(/restored database fails integrity_check: .*malformed/.test(failure.message), failure.message);
      return true;
    });
    assertEquals([...Deno.readDirSync(dir)].filter((e) => e.name.includes("out.db")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
