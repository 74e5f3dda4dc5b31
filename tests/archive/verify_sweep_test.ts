/**
 * `backup verify` sweeps a dead verify's scratch directory beside the archive before it makes its own:
 * of an encrypted archive that directory holds the decrypted database, and before, only a later create or
 * restore in the same directory removed it (a killed verify's, run after run, stayed). In-process: the
 * leftover is planted with the PID of a process that has exited; the verify itself may fail. Also the
 * `vigo-verify-<pid>-*` that verify makes in the system temp directory when the archive's is read-only.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyArchive } from "../../lib/archive/verify.ts";

Deno.test("backup verify removes a dead verify's scratch directory (its decrypted database) first", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-verify-sweep-" });
  try {
    const dead = await deadPid();
    const left = join(dir, `.vigo-verify-${dead}-AbC123`);
    mkdirSync(left);
    writeFileSync(join(left, "vigo.db"), "decrypted database\n");
    const archive = join(dir, "x.tar.gz");
    writeFileSync(archive, "not an archive\n");
    await verifyArchive(archive, {}).then(() => assert.fail("verified"), () => {});
    assert.deepEqual(readdirSync(dir), ["x.tar.gz"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The PID of a child that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("backup verify removes a dead verify's scratch from the system temp directory too, and only ours", async () => {
  // Where a verify of an archive on a read-only directory (a recovery stick) makes it: the sweep of dot-names
  // beside archives never saw it, and the decrypted database stayed there for good.
  const dead = await deadPid();
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const left = join(tmpdir(), `vigo-verify-${dead}-AbC123`);
  const live = join(tmpdir(), `vigo-verify-${other.pid}-AbC123`);
  const foreign = join(tmpdir(), `vigo-verify-sweep-notes-${dead}`);
  const dir = await Deno.makeTempDir({ prefix: "vigo-verify-sweep-" });
  try {
    for (const d of [left, live, foreign]) {
      mkdirSync(d);
      writeFileSync(join(d, "vigo.db"), "decrypted database\n");
    }
    const archive = join(dir, "x.tar.gz");
    writeFileSync(archive, "not an archive\n");
    await verifyArchive(archive, {}).then(() => assert.fail("verified"), () => {});
    assert.deepEqual([left, live, foreign].map((d) => existsSync(d)), [false, true, true]);
  } finally {
    other.kill();
    await other.status;
    for (const d of [left, live, foreign, dir]) rmSync(d, { recursive: true, force: true });
  }
});
