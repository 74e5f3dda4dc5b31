/**
 * An archive written by `backup create`, `backup download` or `backup upload` to file:// goes to disk
 * while it is written (early_writeback.ts), seen in the kernel: strace shows `fdatasync` on its temporary file before the
 * last byte. Without it the only sync is the final `fsync`, which then writes the whole file while the
 * command waits.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { EARLY_WRITEBACK_WINDOW } from "../../lib/fsutil/early_writeback.ts";
import { hasStrace } from "../helpers/unremovable_temp.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;

/** Runs `script` under strace and checks the syncs of the temporary file of `a.tar.gz`; its output is `sha`. */
async function assertEarlySyncs(dir: string, script: string, sha: string): Promise<void> {
  const log = join(dir, "strace.log");
  const run = await new Deno.Command("strace", {
    args: ["-f", "-qq", "-y", "-e", "trace=fdatasync,fsync", "-o", log, Deno.execPath(), "eval", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  assert.equal(new TextDecoder().decode(run.stdout).trim(), sha);
  const syncs = (await Deno.readTextFile(log)).split("\n")
    .filter((l) => /\bf(data)?sync\(\d+<[^>]*\/\.a\.tar\.gz\.tmp-[^>]*>\) = 0/.test(l));
  const early = syncs.filter((l) => l.includes("fdatasync("));
  assert.ok(early.length >= 1, `expected early fdatasyncs of the temporary file, saw:\n${syncs.join("\n")}`);
  // The final fsync still comes last: early syncs are a head start, not the durability.
  assert.match(syncs.at(-1)!, /\bfsync\(/);
}

/** Three early-writeback windows of random bytes and their SHA-256; they start as gzip does. */
function threeWindows(): { bytes: Uint8Array; sha: string } {
  const block = crypto.getRandomValues(new Uint8Array(65536));
  block.set([0x1f, 0x8b, 8, 0]);
  const size = 3 * EARLY_WRITEBACK_WINDOW + 65536;
  const bytes = new Uint8Array(size);
  for (let off = 0; off < size; off += block.length) bytes.set(block, off);
  return { bytes, sha: createHash("sha256").update(bytes).digest("hex") };
}

/**
 * A test of one command's write: `setup` puts three windows of archive (`bytes`, `sha`) where the command
 * reads them in `dir` and returns the script that writes `a.tar.gz` from them and prints its SHA-256.
 */
function earlyWritebackTest(
  name: string,
  setup: (dir: string, bytes: Uint8Array, sha: string) => Promise<string>,
): void {
  Deno.test({
    name,
    ignore: !hasStrace,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "early-writeback-" });
      try {
        const { bytes, sha } = threeWindows();
        await assertEarlySyncs(dir, await setup(dir, bytes, sha), sha);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

earlyWritebackTest(
  "backup download: the file's first windows are synced while it downloads, not only at the end",
  async (dir, bytes, sha) => {
    await Deno.mkdir(join(dir, "remote", "archives"), { recursive: true });
    await Deno.writeFile(join(dir, "remote", "archives", "a.tar.gz"), bytes);
    await Deno.writeTextFile(join(dir, "remote", "archives", "a.tar.gz.sha256"), `${sha}  a.tar.gz\n`);
    return `
      import { downloadArchive, openBackend } from ${JSON.stringify(MOD)};
      const backend = await openBackend(${JSON.stringify(`file://${join(dir, "remote")}`)});
      try {
        const got = await downloadArchive(backend, "archives/a.tar.gz", ${
      JSON.stringify(join(dir, "a.tar.gz"))
    });
        console.log(got.sha256);
      } finally {
        await backend.close();
      }`;
  },
);

earlyWritebackTest(
  "backup create: the archive's first windows are synced while it is written, not only at the end",
  async (dir, bytes) => {
    const input = join(dir, "input");
    await Deno.writeFile(input, bytes);
    // The sink is what create writes its archive through; its chunks here are the input file's.
    return `
      import { openFileSink } from ${JSON.stringify(MOD)};
      const sink = await openFileSink(${JSON.stringify(join(dir, "a.tar.gz"))});
      const file = await Deno.open(${JSON.stringify(input)});
      await file.readable.pipeTo(sink.writable);
      console.log((await sink.done).sha256);`;
  },
);

earlyWritebackTest(
  "backup upload to file://: the stored archive's first windows are synced while it is written",
  async (dir, bytes, sha) => {
    const local = join(dir, "local", "a.tar.gz");
    await Deno.mkdir(join(dir, "local"));
    await Deno.writeFile(local, bytes);
    await Deno.writeTextFile(`${local}.sha256`, `${sha}  a.tar.gz\n`);
    return `
      import { openBackend, uploadArchive } from ${JSON.stringify(MOD)};
      const backend = await openBackend(${JSON.stringify(`file://${join(dir, "remote")}`)});
      try {
        console.log((await uploadArchive(backend, ${JSON.stringify(local)})).sha256);
      } finally {
        await backend.close();
      }`;
  },
);
