/**
 * kill -9 in the middle of a snapshot leaves no snapshot-named directory (so nothing links against a
 * half tree); the next run takes over the stale lock, removes the leftover and makes a complete one.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnCli } from "../helpers/cli.ts";
import { backupCrate, crateRun, scratch, show, snapshots, writeTree } from "./fixture.ts";

Deno.test("crash mid-snapshot (kill -9) then a clean next run", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    const small: Record<string, string> = {};
    for (let i = 0; i < 300; i++) small[`z/f${i}.txt`] = `small ${i}\n`;
    writeTree(src, small);
    // a big file copied first (names are walked in sorted order) keeps the run busy long enough
    execFileSync("mkdir", ["-p", join(src, "a")]);
    execFileSync("dd", ["if=/dev/zero", `of=${join(src, "a/big.bin")}`, "bs=1M", "count=512", "status=none"]);
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target);
    const child = spawnCli(["crate", "run", crate], { env: { VIGO_NOW: "2026-03-13T02:00:00Z" } });
    const deadline = Date.now() + 60_000;
    let killedMidway = false;
    while (Date.now() < deadline) {
      const partial = existsSync(target)
        ? readdirSync(target).find((n) => n.startsWith(".incomplete-"))
        : undefined;
      if (partial && existsSync(join(target, partial, "a/big.bin"))) {
        child.kill("SIGKILL");
        killedMidway = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const status = await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    assert.ok(killedMidway, "the run never got to copying the big file");
    assert.equal(status.signal, "SIGKILL", "the run finished before it could be killed");
    assert.deepEqual(snapshots(target), [], "a killed run left a snapshot-named directory");
    assert.ok(readdirSync(target).some((n) => n.startsWith(".incomplete-")));
    assert.ok(existsSync(join(target, ".vigo-snapshot.lock")), "the stale lock should still be there");

    const r = await crateRun(crate, "2026-03-13T02:05:00Z");
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /removed leftover \.incomplete-2026\.072\.02\.00/);
    assert.match(r.stdout, /copy 301 files/);
    assert.deepEqual(readdirSync(target).filter((n) => n !== ".vigo-last-run.json").sort(), [
      "2026.072.02.05",
    ]);
    const snap = join(target, "2026.072.02.05");
    assert.equal(statSync(join(snap, "a/big.bin")).size, 512 * 1024 * 1024);
    assert.equal(readdirSync(join(snap, "z")).length, 300);
  } finally {
    s.cleanup();
  }
});
