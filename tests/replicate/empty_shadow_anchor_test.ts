/**
 * The anchor of a shadow without a frame (wal_file_facts.ts): a restart's writer that has written the new
 * WAL's first frame, committed or not, has overwritten the old WAL's first frame, so the old WAL's commits
 * can no longer be copied and the restart must not be followed as if they could (ff2bb25 covered a
 * committed first frame; a transaction too large for the page cache writes its frames before it commits).
 * The WALs are the real sqlite3's.
 */
import { ok as assert } from "node:assert/strict";
import { anchorStillInWal } from "../../lib/replicate/wal_file_facts.ts";
import type { ShadowState } from "../../lib/replicate/shadow_wal.ts";
import { parseFrameHeader, parseWalHeader, WAL_HEADER_SIZE } from "../../lib/sqlite/wal_format.ts";

/**
 * Runs sqlite3 on a WAL database: 20 commits, a copy of the WAL (`old-wal`), a RESTART checkpoint and a
 * copy (`restarted-wal`: nothing written yet), then an uncommitted transaction that spills its pages
 * (`spilled-wal`), rolled back.
 */
async function walsAroundARestart(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/w.db`;
  const sql = ["PRAGMA journal_mode=WAL;", "PRAGMA wal_autocheckpoint=0;", "CREATE TABLE t(x);"];
  for (let i = 0; i < 20; i++) sql.push("INSERT INTO t VALUES (randomblob(100));");
  sql.push(`.shell cp ${db}-wal ${dir}/old-wal`);
  sql.push("PRAGMA wal_checkpoint(RESTART);");
  sql.push(`.shell cp ${db}-wal ${dir}/restarted-wal`);
  sql.push("PRAGMA cache_size=2;", "BEGIN;");
  for (let i = 0; i < 50; i++) sql.push("INSERT INTO t VALUES (randomblob(3000));");
  sql.push(`.shell cp ${db}-wal ${dir}/spilled-wal`, "ROLLBACK;");
  const child = new Deno.Command("sqlite3", { args: [db], stdin: "piped", stdout: "null", stderr: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(sql.join("\n") + "\n"));
  await w.close();
  const out = await child.output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return dir;
}

Deno.test("a shadow without a frame: a restart's first frame, written and not committed, breaks its anchor", async () => {
  const dir = await walsAroundARestart();
  try {
    const oldHead = (await Deno.readFile(`${dir}/old-wal`)).subarray(0, WAL_HEADER_SIZE);
    const shadowPath = `${dir}/shadow-wal`;
    await Deno.writeFile(shadowPath, oldHead);
    const header = parseWalHeader(oldHead)!;
    const st = { size: WAL_HEADER_SIZE, header } as ShadowState;

    // The spill really wrote an uncommitted first frame for a new WAL.
    const spilled = await Deno.readFile(`${dir}/spilled-wal`);
    const newHeader = parseWalHeader(spilled.subarray(0, WAL_HEADER_SIZE))!;
    assert(newHeader.salt1 !== header.salt1, "the spill restarted the WAL");
    const first = parseFrameHeader(spilled, WAL_HEADER_SIZE);
    assert(first.salt1 === newHeader.salt1 && first.commitSize === 0, "an uncommitted frame of the new WAL");

    assert(!anchorStillInWal(`${dir}/spilled-wal`, shadowPath, st), "overwritten by an uncommitted frame");
    // Controls: the old WAL itself, and the WAL right after the checkpoint, before any writer, keep it.
    assert(anchorStillInWal(`${dir}/old-wal`, shadowPath, st), "the old WAL");
    assert(anchorStillInWal(`${dir}/restarted-wal`, shadowPath, st), "restarted, nothing written yet");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
