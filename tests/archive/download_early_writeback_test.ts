/**
 * A download starts writing its file to disk while the bytes still arrive (early_writeback.ts), seen in
 * the kernel: strace shows `fdatasync` on the download's temporary file before the transfer ends. Without
 * it the only sync is the final `fsync`, and a fast network leaves the whole file to write after the
 * last byte.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { EARLY_WRITEBACK_WINDOW } from "../../lib/fsutil/early_writeback.ts";
import { hasStrace } from "../helpers/unremovable_temp.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;

Deno.test({
  name: "backup download: the file's first windows are synced while it downloads, not only at the end",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "download-writeback-" });
    try {
      // Three windows: the first sync starts after one, and a next one once it is done.
      const body = crypto.getRandomValues(new Uint8Array(65536));
      const size = 3 * EARLY_WRITEBACK_WINDOW + 65536;
      const archive = new Uint8Array(size);
      for (let off = 0; off < size; off += body.length) archive.set(body, off);
      await Deno.mkdir(join(dir, "remote", "archives"), { recursive: true });
      await Deno.writeFile(join(dir, "remote", "archives", "a.tar.gz"), archive);
      const sha = createHash("sha256").update(archive).digest("hex");
      await Deno.writeTextFile(join(dir, "remote", "archives", "a.tar.gz.sha256"), `${sha}  a.tar.gz\n`);
      const out = join(dir, "a.tar.gz");
      const script = `
        import { downloadArchive, openBackend } from ${JSON.stringify(MOD)};
        const backend = await openBackend(${JSON.stringify(`file://${join(dir, "remote")}`)});
        try {
          const got = await downloadArchive(backend, "archives/a.tar.gz", ${JSON.stringify(out)});
          console.log(got.sha256);
        } finally {
          await backend.close();
        }`;
      const log = join(dir, "strace.log");
      const run = await new Deno.Command("strace", {
        args: ["-f", "-qq", "-y", "-e", "trace=fdatasync,fsync", "-o", log, Deno.execPath(), "eval", script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(run.stdout).trim();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      assert.equal(stdout, sha);
      const syncs = (await Deno.readTextFile(log)).split("\n")
        .filter((l) => /\bf(data)?sync\(\d+<[^>]*\/\.a\.tar\.gz\.tmp-[^>]*>\) = 0/.test(l));
      const early = syncs.filter((l) => l.includes("fdatasync("));
      assert.ok(
        early.length >= 1,
        `expected early fdatasyncs of the temporary file, saw:\n${syncs.join("\n")}`,
      );
      // The final fsync still comes last: early syncs are a head start, not the durability.
      assert.match(syncs.at(-1)!, /\bfsync\(/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
