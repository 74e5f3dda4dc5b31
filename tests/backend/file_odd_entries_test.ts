/**
 * What the file backend finds where its objects lie that is neither a file nor a directory: a FIFO (or a
 * link to nothing) is an error naming it, for listings and reads, never skipped (a replica restore
 * that skipped a WAL segment replaced by one ended at an older state with exit 0) nor waited on (open(2)
 * of a FIFO waits for a writer); a link to a file is read as the file; a file where a directory of
 * objects must be is said, not listed as empty.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { IoError } from "../../lib/errors.ts";

async function keys(backend: FileBackend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of backend.list(prefix)) out.push(o.key);
  return out;
}

Deno.test("file backend: a FIFO or a link to nothing is an error naming it; a link to a file is the file", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigo-file-odd-" });
  try {
    const backend = new FileBackend(`file://${root}`);
    await backend.put("wal/00000000_00000000.wal.lz4", new Uint8Array([1, 2, 3]));
    await Deno.symlink(
      join(root, "wal/00000000_00000000.wal.lz4"),
      join(root, "wal/00000001_00000000.wal.lz4"),
    );
    assert.deepEqual(await keys(backend, "wal/"), [
      "wal/00000000_00000000.wal.lz4",
      "wal/00000001_00000000.wal.lz4",
    ]);
    assert.deepEqual(
      new Uint8Array(await new Response(await backend.get("wal/00000001_00000000.wal.lz4")).arrayBuffer()),
      new Uint8Array([1, 2, 3]),
    );

    const fifo = join(root, "wal/00000002_00000000.wal.lz4");
    assert.equal((await new Deno.Command("mkfifo", { args: [fifo] }).output()).code, 0);
    const says = (path: string) => (err: unknown) => {
      assert.ok(err instanceof IoError, String(err));
      assert.equal(err.message, `${path}: not a regular file or directory (the backend stores only files)`);
      return true;
    };
    await assert.rejects(() => keys(backend, "wal/"), says(fifo));
    await assert.rejects(() => backend.get("wal/00000002_00000000.wal.lz4"), (err: unknown) => {
      assert.ok(err instanceof IoError, String(err));
      assert.match(err.message, /00000002_00000000\.wal\.lz4: not a regular file/);
      return true;
    });
    await Deno.remove(fifo);
    const dangling = join(root, "wal/00000003_00000000.wal.lz4");
    await Deno.symlink(join(root, "nowhere"), dangling);
    await assert.rejects(() => keys(backend, "wal/"), says(dangling));
    await Deno.remove(dangling);

    await Deno.remove(join(root, "wal"), { recursive: true });
    await Deno.writeTextFile(join(root, "wal"), "not a directory\n");
    await assert.rejects(() => keys(backend, "wal/"), (err: unknown) => {
      assert.ok(err instanceof IoError, String(err));
      assert.equal(err.message, `${join(root, "wal")}: not a directory (the backend keeps one there)`);
      return true;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
