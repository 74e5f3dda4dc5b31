/**
 * Sweeping leftovers: a temporary name whose PID is dead goes, one of a live process stays (unless it is
 * older than a week: the PID was reused), names from before the PID was recorded go only when old, and
 * names that are not ours are never touched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import {
  findStaleTemps,
  noteOwnTemp,
  REUSED_PID_AGE_MS,
  staleTempDecision,
  sweepStaleTemps,
} from "../../lib/fsutil/stale_temps.ts";

const dead = async () => {
  const c = new Deno.Command("true").spawn();
  await c.status;
  return c.pid;
};

Deno.test("staleTempDecision: PID and age decide, other names are not ours", () => {
  const running = (pid: number) => pid === 100;
  const week = REUSED_PID_AGE_MS;
  const cases: [string, number, string][] = [
    [".x.tar.gz.tmp-200-0123456789ab", 0, "remove"],
    [".x.tar.gz.tmp-100-0123456789ab", 0, "keep"],
    [".x.tar.gz.tmp-100-0123456789ab", week + 1, "remove"],
    [`.x.tar.gz.tmp-${process.pid}-0123456789ab`, week + 1, "keep"],
    [`.x.tar.gz.tmp-${process.pid}-0123456789ab.db-wal`, week + 1, "keep"],
    // This PID's, not made by this process: a killed predecessor's of the same PID (PID 1 in a container).
    [`.restore-staging-${process.pid}-Ab3dEf`, 0, "remove"],
    [".vigo.sql.gz.tmp-200-0123456789ab.db", 0, "remove"],
    [".out.db.tmp-200-0123456789ab-journal", 0, "remove"],
    [".restore-staging-200-Ab3dEf", 0, "remove"],
    [".restore-staging-100-Ab3dEf", 0, "keep"],
    [".vigo-backup-200-Ab3dEf", 0, "remove"],
    [".vigo-verify-200-Ab3dEf", 0, "remove"],
    [".vigo-download-200-Ab3dEf", 0, "remove"],
    // A killed drill's scratch restore (found by review: 112 MB each, never removed).
    [".scratch-200-Ab3dEf", 0, "remove"],
    [".scratch-100-Ab3dEf", 0, "keep"],
    ["vigo-drill-scratch-200-Ab3dEf", 0, "remove"],
    ["scratch-200-Ab3dEf", 0, "not-ours"],
    [".restore-staging-Ab3dEf", 0, "keep"],
    [".restore-staging-Ab3dEf", week + 1, "remove"],
    [".x.tar.gz.tmp-0123456789ab", week + 1, "remove"],
    [".x.tar.gz.tmp-0123456789ab", 1000, "keep"],
    ["x.tar.gz", week * 10, "not-ours"],
    [".restore-journal-200.json", week * 10, "not-ours"],
    [".pre-restore-2026-03-13T14:30:00Z", week * 10, "not-ours"],
    [".bashrc", week * 10, "not-ours"],
    [".x.tmp-200-xyz", 0, "not-ours"],
  ];
  noteOwnTemp(`.x.tar.gz.tmp-${process.pid}-0123456789ab`);
  for (const [name, age, want] of cases) assert.equal(staleTempDecision(name, age, running), want, name);
});

Deno.test("sweepStaleTemps removes only dead processes' leftovers in a real directory", async () => {
  const dir = await Deno.makeTempDir();
  const gone = await dead();
  const names = {
    deadFile: `.a.tar.gz.tmp-${gone}-0123456789ab`,
    deadDir: `.restore-staging-${gone}-Ab3dEf`,
    liveFile: `.a.tar.gz.tmp-${process.ppid}-0123456789ab`,
    mine: `.vigo-backup-${process.pid}-Ab3dEf`,
    user: "a.tar.gz",
  };
  for (const n of Object.values(names)) await Deno.writeTextFile(join(dir, n), "x");
  // Made by this process (as makeTempDir records it): its PID alone no longer says so.
  noteOwnTemp(names.mine);
  await Deno.remove(join(dir, names.deadDir));
  await Deno.mkdir(join(dir, names.deadDir, "stacks"), { recursive: true });
  const stale = [join(dir, names.deadDir), join(dir, names.deadFile)].sort();
  assert.deepEqual(findStaleTemps(dir).sort(), stale, "what a dry run lists");
  assert.equal([...Deno.readDirSync(dir)].length, Object.keys(names).length, "finding removes nothing");
  const removed = sweepStaleTemps(dir).sort();
  assert.deepEqual(removed, [join(dir, names.deadDir), join(dir, names.deadFile)].sort());
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(left, [names.liveFile, names.mine, names.user].sort());
  assert.deepEqual(sweepStaleTemps(join(dir, "missing")), []);
  await Deno.remove(dir, { recursive: true });
});
