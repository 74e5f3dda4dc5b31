/**
 * The `backup` executor's lock on its target_path through the CLI: a flock held by a running process
 * is busy (exit 5, naming its PID); a lock file left naming a dead or an unrelated PID is no lock.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { backupCrate, crateRun, scratch, show, snapshots, writeTree } from "./fixture.ts";

const DAY1 = "2026-03-13T02:00:00Z";
const DAY2 = "2026-03-14T02:00:00Z";

Deno.test("a target locked by a running process is busy (exit 5); a lock file naming a dead or an unrelated PID is not", async () => {
  const s = scratch();
  const unrelated = new Deno.Command("sleep", { args: ["60"] }).spawn();
  let pid = "";
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    const lock = join(target, ".vigo-snapshot.lock");
    writeTree(src, { "a.txt": "a" });
    mkdirSync(target);
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target);
    // flock(1) takes the kernel lock a run takes; its child writes its PID in, as a run does.
    const holder = new Deno.Command("flock", {
      args: ["-n", lock, "sh", "-c", `echo $$ > '${lock}'; exec sleep 60`],
    }).spawn();
    for (let i = 0; i < 500 && !/^\d+\n$/.test(pid); i++) {
      await new Promise((r) => setTimeout(r, 10));
      pid = existsSync(lock) ? readFileSync(lock, "utf8") : "";
    }
    let r = await crateRun(crate, DAY1);
    assert.equal(r.code, 5, show(r));
    assert.match(r.stderr, new RegExp(`PID ${pid.trim()}\\b`, "i"));
    process.kill(Number(pid), "SIGKILL");
    pid = "";
    await holder.status;
    // A PID in the file is no lock: after a reboot or a PID wrap it names whatever process got it.
    writeFileSync(lock, `${unrelated.pid}\n`);
    r = await crateRun(crate, DAY1);
    assert.equal(r.code, 0, show(r));
    const dead = execFileSync("sh", ["-c", "sh -c 'echo $$' </dev/null"], { encoding: "utf8" }).trim();
    writeFileSync(lock, `${dead}\n`);
    r = await crateRun(crate, DAY2);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(snapshots(target), ["2026.072.02.00", "2026.073.02.00"]);
    assert.ok(!existsSync(lock));
  } finally {
    if (pid) process.kill(Number(pid), "SIGKILL");
    unrelated.kill("SIGKILL");
    await unrelated.status;
    s.cleanup();
  }
});
