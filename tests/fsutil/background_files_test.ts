/**
 * BackgroundFiles (lib/fsutil/background_files.ts): files created on the worker have their bytes, mode
 * and mtime; a failure surfaces at flush() (and at the next write) naming its file, as our error.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackgroundFiles } from "../../lib/fsutil/background_files.ts";
import { ExistsError, NotFoundError } from "../../lib/errors.ts";

Deno.test("background files: every byte, mode and mtime, with more bytes queued than may be in flight", async () => {
  const dir = Deno.makeTempDirSync();
  const files = new BackgroundFiles();
  try {
    // 12 MiB in all: more than the in-flight bound, so write() has to wait for the worker.
    for (let i = 0; i < 300; i++) {
      const data = new Uint8Array(i === 7 ? 0 : 40_000 + i).fill(i & 0xff);
      await files.write({ path: join(dir, `f${i}`), data, mode: 0o640 | (i % 2), mtime: 1_000_000 + i });
    }
    await files.flush();
    for (const i of [0, 7, 150, 299]) {
      const p = join(dir, `f${i}`);
      const st = statSync(p);
      assert.equal(st.mode & 0o7777, 0o640 | (i % 2));
      assert.equal(Math.floor(st.mtimeMs / 1000), 1_000_000 + i);
      const got = readFileSync(p);
      assert.equal(got.length, i === 7 ? 0 : 40_000 + i);
      assert.ok(got.every((b) => b === (i & 0xff)));
    }
  } finally {
    files.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("background files: the first failure names its file at flush() and at the next write", async () => {
  const dir = Deno.makeTempDirSync();
  const files = new BackgroundFiles();
  try {
    writeFileSync(join(dir, "taken"), "x");
    const job = (name: string) => ({
      path: join(dir, name),
      data: new Uint8Array(10),
      mode: 0o600,
      mtime: 0,
    });
    await files.write(job("a"));
    await files.write(job("taken"));
    await files.write(job("b"));
    await assert.rejects(
      () => files.flush(),
      (e) => e instanceof ExistsError && e.message.includes(join(dir, "taken")),
    );
    await assert.rejects(() => files.write(job("c")), ExistsError);
    assert.equal(readFileSync(join(dir, "taken"), "utf8"), "x", "an existing file is never overwritten");
  } finally {
    files.close();
  }
  const missing = new BackgroundFiles();
  try {
    await missing.write({ path: join(dir, "no/such/dir/f"), data: new Uint8Array(1), mode: 0o600, mtime: 0 });
    await assert.rejects(() => missing.flush(), NotFoundError);
  } finally {
    missing.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
