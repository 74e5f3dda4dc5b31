/**
 * A restore or verify that fails in the middle of the database's data (the archive ends there) leaves
 * nothing behind and keeps no descriptor open: the library may be called again and again by one process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";
import { openDescriptors } from "../helpers/descriptors.ts";
import { restoreArchive } from "../../lib/archive/restore.ts";
import { verifyArchive } from "../../lib/archive/verify.ts";

/** This process's descriptors that point under `dir`. */
function descriptorsUnder(dir: string): string[] {
  return openDescriptors().filter((to) => to.startsWith(`${dir}/`));
}

Deno.test("restore and verify: an archive cut inside the database leaves no descriptor open and nothing behind", async () => {
  // ~8 MB of random rows: the database is staged as a large file (written in place, fsynced alone), and
  // is still being written when the cut is reached, past the batches the reader inflates ahead (~1 MiB).
  const src = await makeServerRoot({ rows: 25_000 });
  const work = await Deno.makeTempDir({ prefix: "vigo-restore-fd-" });
  try {
    const archive = join(work, "a.tar.gz");
    const r = await runCli(["backup", "create", ...src.flags, archive]);
    assert.equal(r.code, 0, r.stderr);
    const size = (await Deno.stat(archive)).size;
    assert.ok((await Deno.stat(src.db)).size > 6 * 1024 * 1024, "the database is too small");
    // The database follows the manifest and is most of the archive: half of it ends inside the database.
    await Deno.truncate(archive, Math.floor(size / 2));
    const target = join(work, "target");
    await Deno.mkdir(target);
    await assert.rejects(
      restoreArchive({ archive, target, dbOnly: false, dryRun: false, force: false, now: new Date() }),
      /truncated|not a valid gzip/,
    );
    assert.deepEqual(descriptorsUnder(target), [], "a descriptor of a staged file was left open");
    assert.deepEqual([...Deno.readDirSync(target)].map((e) => e.name), [], "restore left something behind");

    const scratch = join(work, "scratch");
    await Deno.mkdir(scratch);
    await assert.rejects(verifyArchive(archive, { workDir: scratch }), /truncated|not a valid gzip/);
    assert.deepEqual(descriptorsUnder(scratch), [], "verify left the extracted database open");
    assert.deepEqual([...Deno.readDirSync(scratch)].map((e) => e.name), [], "verify left something behind");
  } finally {
    await Deno.remove(work, { recursive: true });
    await Deno.remove(src.root, { recursive: true });
  }
});
