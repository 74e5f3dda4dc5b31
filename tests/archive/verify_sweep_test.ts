/**
 * `backup verify` sweeps a dead verify's scratch directory beside the archive before it makes its own:
 * of an encrypted archive that directory holds the decrypted database, and before, only a later create or
 * restore in the same directory removed it (a killed verify's, run after run, stayed). In-process: the
 * leftover is planted with the PID of a process that has exited; the verify itself may fail.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
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
