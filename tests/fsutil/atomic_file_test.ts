/**
 * Writing a small file atomically: the final name appears only with the whole content and the asked mode,
 * a missing folder is named as such, and a failure leaves neither a temporary file nor a partial target;
 * with noReplace, a file that appeared at the path meanwhile is kept.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ExistsError, NotFoundError } from "../../lib/errors.ts";
import { createAtomicFile, writeFileAtomic } from "../../lib/fsutil/atomic_file.ts";

Deno.test("writeFileAtomic: bytes and text land whole under the final name, with the mode asked for", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = new Uint8Array(300_000).map((_, i) => i * 7);
    await writeFileAtomic(join(dir, "a.bin"), bytes, 0o600);
    await writeFileAtomic(join(dir, "b.txt"), "héllo\n", 0o644);
    assert.deepEqual(await Deno.readFile(join(dir, "a.bin")), bytes);
    assert.equal(await Deno.readTextFile(join(dir, "b.txt")), "héllo\n");
    assert.equal((await Deno.stat(join(dir, "a.bin"))).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, "b.txt"))).mode! & 0o777, 0o644 & ~Deno.umask());
    // Replacing keeps the name pointing at a whole file, and leaves no temporary name behind.
    await writeFileAtomic(join(dir, "a.bin"), "new");
    assert.equal(await Deno.readTextFile(join(dir, "a.bin")), "new");
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "a.bin",
      "b.txt",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic: a missing folder is a NotFoundError naming the folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const err = await writeFileAtomic(join(dir, "gone", "x"), "x").then(() => null, (e) => e);
    assert.ok(err instanceof NotFoundError, String(err));
    assert.match(err.message, new RegExp(`^${join(dir, "gone")}: no such directory`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic: a failed rename leaves the target as it was and no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A non-empty directory under the final name: the data is written and synced, the rename fails.
    await Deno.mkdir(join(dir, "target", "inside"), { recursive: true });
    const err = await writeFileAtomic(join(dir, "target"), "data").then(() => null, (e) => e);
    assert.ok(err instanceof Error, "the write must fail");
    assert.match(err.message, new RegExp(join(dir, "target")));
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["target"]);
    assert.ok((await Deno.stat(join(dir, "target", "inside"))).isDirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createAtomicFile noReplace: a file made at the path meanwhile is kept, the commit refuses", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.tar.gz");
    const file = await createAtomicFile(path, 0o600, { noReplace: true });
    const w = file.writable().getWriter();
    await w.write(new TextEncoder().encode("ours"));
    await w.close();
    await Deno.writeTextFile(path, "PRECIOUS");
    const err = await file.commit().then(() => null, (e) => e);
    assert.ok(err instanceof ExistsError, String(err));
    assert.equal(err.message, `${path}: already exists (refusing to overwrite)`);
    assert.equal(await Deno.readTextFile(path), "PRECIOUS");
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["a.tar.gz"]);
    // Without anything in the way it lands as usual, and only under its name.
    const other = await createAtomicFile(join(dir, "b"), 0o600, { noReplace: true });
    await other.commit();
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), ["a.tar.gz", "b"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
