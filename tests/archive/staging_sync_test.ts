/** StagingSync: large files fsynced at once, small ones by one syncfs, else an fsync each naming failures. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { StagingSync } from "../../lib/archive/staging_sync.ts";
import { NotFoundError } from "../../lib/errors.ts";

Deno.test("flush succeeds with sync -f, and falls back to per-file fsync without it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-staging-sync-" });
  const path = Deno.env.get("PATH") ?? "";
  try {
    for (let i = 0; i < 40; i++) await Deno.writeTextFile(join(dir, `f${i}`), `x${i}`);
    const s = new StagingSync(dir);
    for (let i = 0; i < 40; i++) s.add(join(dir, `f${i}`), 2);
    await s.flush();

    // A large file is fsynced in the background at once; its failure surfaces in flush().
    const big = new StagingSync(dir);
    big.add(join(dir, "gone-big"), 2 * 1024 * 1024);
    await assert.rejects(() => big.flush(), /gone-big/);

    // Without `sync` on PATH the fallback opens every file: a vanished one is reported by name.
    Deno.env.set("PATH", "/nonexistent");
    const fallback = new StagingSync(dir);
    for (let i = 0; i < 40; i++) fallback.add(join(dir, `f${i}`), 2);
    fallback.add(join(dir, "gone"), 2);
    await assert.rejects(() => fallback.flush(), (err: Error) => {
      assert.ok(err instanceof NotFoundError, String(err));
      assert.match(err.message, /gone/);
      return true;
    });
  } finally {
    Deno.env.set("PATH", path);
    await Deno.remove(dir, { recursive: true });
  }
});
