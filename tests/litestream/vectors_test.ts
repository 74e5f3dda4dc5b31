/** The test vectors of docs/replica-format.md, read from tests/vectors/litestream/. */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { lz4CompressBytes, lz4DecompressBytes } from "../../lib/codec/lz4/lz4.ts";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { restoreReplica } from "../../lib/litestream/restore.ts";

const V = fileURLToPath(new URL("../vectors/litestream/", import.meta.url));
const HELLO = "hello, litestream! hello, litestream!\n";
const G = "0123456789abcdef";

Deno.test("vector hello.txt.lz4: our writer produces exactly these bytes; both readers agree", async () => {
  const vector = await Deno.readFile(`${V}hello.txt.lz4`);
  assertEquals(await lz4CompressBytes(new TextEncoder().encode(HELLO)), vector);
  assertEquals(new TextDecoder().decode(await lz4DecompressBytes(vector)), HELLO);
  const cli = await new Deno.Command("lz4", { args: ["-dc", `${V}hello.txt.lz4`], stdout: "piped" }).output();
  assertEquals(new TextDecoder().decode(cli.stdout), HELLO);
});

Deno.test("vector replica/: segment contents and the restored rows", async () => {
  const wal = `${V}replica/generations/${G}/wal/`;
  const seg0 = await lz4DecompressBytes(await Deno.readFile(`${wal}00000000_00000000.wal.lz4`));
  const seg1 = await lz4DecompressBytes(await Deno.readFile(`${wal}00000000_00000238.wal.lz4`));
  assertEquals([seg0.length, seg1.length], [32 + 24 + 512, 24 + 512]);
  assertEquals([...seg0.subarray(0, 12)], [0x37, 0x7f, 0x06, 0x82, 0, 0x2d, 0xe2, 0x18, 0, 0, 2, 0]);
  const snap = await lz4DecompressBytes(
    await Deno.readFile(`${V}replica/generations/${G}/snapshots/00000000.snapshot.lz4`),
  );
  assertEquals(new TextDecoder().decode(snap.subarray(0, 16)), "SQLite format 3\0");
  assertEquals([snap[18], snap[19]], [2, 2]); // WAL mode

  const dir = await Deno.makeTempDir();
  try {
    const client = replicaClientFor(new FileBackend(`file://${V}replica`));
    const r = await restoreReplica(client, { outputPath: `${dir}/v.db` });
    assertEquals([r.generation, r.segments, r.frames], [G, 2, 2]);
    const out = await new Deno.Command("sqlite3", { args: [`${dir}/v.db`, "SELECT id, name FROM t"] })
      .output();
    assertEquals(new TextDecoder().decode(out.stdout), "1|one\n2|two\n3|three\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
