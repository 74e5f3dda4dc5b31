/**
 * SIGINT/SIGTERM in the middle of a snapshot: exit 130, this run's `.incomplete-*` and lock removed,
 * and post_command run to undo pre_command (the service it stopped is started again); outside a locked
 * section (a dry run) the same exit and line, not the runtime's 143 for SIGTERM.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { interruptAt, interruptOnStderr, names } from "../helpers/interrupt.ts";
import { backupCrate, scratch, writeTree } from "./fixture.ts";

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`crate run: ${signal} mid-snapshot removes the snapshot and lock, runs post_command, exits 130`, async () => {
    const s = scratch();
    try {
      const src = join(s.dir, "src"), target = join(s.dir, "target"), log = join(s.dir, "hooks.log");
      // Walked first: a read-only directory in the half-built snapshot that rm -rf cannot empty as a user.
      writeTree(src, { "a/kept.txt": "kept\n" });
      chmodSync(join(src, "a"), 0o555);
      const many: Record<string, string> = {};
      for (let i = 0; i < 5000; i++) many[`z/${i % 50}/f${i}.txt`] = `file ${i}\n`;
      writeTree(src, many);
      // interruptAt watches it from the start
      mkdirSync(target);
      const crate = backupCrate(join(s.dir, "c.yaml"), src, target, [
        `pre_command: 'echo stopped >> ${log}'`,
        `post_command: 'echo "started snapshot=[$VIGO_SNAPSHOT]" >> ${log}'`,
      ]);
      const stderr = await interruptAt(["crate", "run", crate, "--now"], target, ".incomplete-", signal);
      assert.match(stderr, new RegExp(`interrupted \\(${signal}\\)`));
      assert.deepEqual(names(target), [], "the interrupted run left something in target_path");
      assert.equal(readFileSync(log, "utf8"), "stopped\nstarted snapshot=[]\n");
    } finally {
      if (existsSync(join(s.dir, "src/a"))) chmodSync(join(s.dir, "src/a"), 0o755);
      s.cleanup();
    }
  });
}

Deno.test("crate run: SIGINT or SIGTERM outside a locked section (a dry run's walk) exits 130 with one line", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    // A walk of ~0.5 s (Bun) to 1 s (Deno): the signal finds it still walking.
    const many: Record<string, string> = {};
    for (let i = 0; i < 60000; i++) many[`z/${i % 300}/f${i}`] = "";
    writeTree(src, many);
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      // --progress announces the walk on stderr: the run is then past loading, in no locked section.
      const stderr = await interruptOnStderr(
        ["--progress", "crate", "run", crate, "--now", "--dry-run"],
        /snapshot /,
        signal,
      );
      assert.match(
        stderr,
        new RegExp(`^vigocli: interrupted \\(${signal}\\); temporary files removed$`, "m"),
      );
      assert.equal(existsSync(target), false, "a dry run created target_path");
    }
  } finally {
    s.cleanup();
  }
});

for (const hook of ["pre_command", "post_command"] as const) {
  Deno.test(`crate run: SIGTERM while ${hook} runs ends the hook and exits 130 at once`, async () => {
    const s = scratch();
    try {
      const src = join(s.dir, "src"), target = join(s.dir, "target");
      writeTree(src, { "a.txt": "a\n" });
      mkdirSync(target);
      // A sleep of its own length, to find it (or not) afterwards; the hook prints when it has started.
      const sleep = hook === "pre_command" ? "sleep 47.31" : "sleep 47.32";
      const crate = backupCrate(join(s.dir, "c.yaml"), src, target, [
        `${hook}: 'echo ${hook} started >&2; ${sleep}; echo done >&2'`,
      ]);
      const started = Date.now();
      // The run waited in spawnSync, where no handler runs: the signal was acted on only once the hook had
      // ended, and after a pre_command the snapshot was built first.
      const stderr = await interruptOnStderr(
        ["crate", "run", crate, "--now"],
        new RegExp(`${hook} started`),
        "SIGTERM",
      );
      assert.ok(Date.now() - started < 20_000, `exit after ${Date.now() - started} ms:\n${stderr}`);
      assert.doesNotMatch(stderr, /^done$/m);
      if (hook === "pre_command") {
        assert.deepEqual(names(target), [], "a snapshot was built after the signal");
      }
      await new Promise((r) => setTimeout(r, 300));
      const left = await new Deno.Command("pgrep", { args: ["-f", sleep], stdout: "piped" }).output();
      assert.equal(new TextDecoder().decode(left.stdout).trim(), "", `${hook}'s ${sleep} still runs`);
    } finally {
      await new Deno.Command("pkill", { args: ["-f", "sleep 47.3"] }).output();
      s.cleanup();
    }
  });
}
