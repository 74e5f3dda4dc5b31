/**
 * A local `backup prune --dry-run` lists the leftovers of killed runs the real prune removes (a dead
 * PID's temporary file, a create lock nobody holds, a sidecar whose archive is gone, over a minute old),
 * as `would delete  NAME  (why)` lines and in `leftovers` in --json, and removes none of them; the same
 * decisions keep, and leave unlisted, a running PID's temporary file, a held lock and a fresh lone
 * sidecar. Then the real prune removes exactly the three it listed. Before, a dry run said
 * `leftovers: null` and nothing in its text. Nor does a dry run make a lock file again that its owner
 * released while the dry run was looking at it (strace holds the dry run's open of it; skipped, saying
 * so, without strace).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openLockHandle } from "../../lib/runtime.ts";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { names } from "../helpers/interrupt.ts";
import { makeServerRoot } from "./fixture.ts";

/** The PID of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

const tempName = (pid: number) => `.a.tar.gz.tmp-${pid}-0123456789ab`;

async function prune(flags: string[], ...extra: string[]) {
  const r = await runCli(["backup", "prune", "--keep", "1", ...flags, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test("prune --dry-run lists the leftovers the real prune removes and removes none", async () => {
  const fx = await makeServerRoot({ rows: 10 });
  const snaps = join(fx.root, "snapshots");
  await Deno.mkdir(snaps, { recursive: true });
  const plant = async (name: string, text: string, ageMs = 0) => {
    await Deno.writeTextFile(join(snaps, name), text);
    const t = new Date(Date.now() - ageMs);
    await Deno.utime(join(snaps, name), t, t);
  };
  const dead = tempName(await deadPid());
  const live = tempName(Deno.pid);
  const sidecar = (n: string) => `${"0".repeat(64)}  ${n}\n`;
  await plant(dead, "half an archive");
  await plant(live, "half an archive");
  await plant("dead.tar.gz.vigo-create.lock", `${await deadPid()}\n`);
  await plant("held.tar.gz.vigo-create.lock", `${Deno.pid}\n`);
  await plant("old.tar.gz.sha256", sidecar("old.tar.gz"), 120_000);
  await plant("new.tar.gz.sha256", sidecar("new.tar.gz"));
  const held = await openLockHandle(join(snaps, "held.tar.gz.vigo-create.lock"));
  try {
    assert.ok(held.tryLock());
    const all = names(snaps);
    const leftovers = [
      { name: "old.tar.gz.sha256", reason: "sidecar whose archive is gone" },
      { name: "dead.tar.gz.vigo-create.lock", reason: "lock file of a killed create" },
      { name: dead, reason: "temporary file of a killed run" },
    ];

    const dry = JSON.parse(await prune(fx.flags, "--dry-run", "--json"));
    assert.equal(dry.dry_run, true);
    assert.deepEqual(dry.leftovers, leftovers);
    assert.deepEqual(names(snaps), all, "a dry run removes nothing");
    const text = await prune(fx.flags, "--dry-run");
    for (const l of leftovers) {
      assert.match(
        text,
        new RegExp(`^would delete  ${l.name.replaceAll(".", "\\.")}  \\(${l.reason}\\)$`, "m"),
      );
    }
    assert.equal(text.match(/^would delete /gm)?.length, 3, text);
    assert.match(
      text,
      /: would delete 0 of 0 archive\(s\) and 3 leftover file\(s\) of killed runs; nothing was deleted$/m,
    );
    assert.deepEqual(names(snaps), all, "a dry run removes nothing");

    const real = JSON.parse(await prune(fx.flags, "--json"));
    assert.deepEqual(real.leftovers, leftovers);
    assert.deepEqual(
      names(snaps),
      all.filter((n) => !leftovers.some((l) => l.name === n)),
      "the real prune removes what the dry run listed, and only that",
    );
  } finally {
    held.close();
    await Deno.remove(fx.root, { recursive: true });
  }
});

const hasStrace = new Deno.Command("sh", { args: ["-c", "command -v strace"] }).outputSync().success;
if (!hasStrace) console.warn("prune_leftovers_dry_run_cli_test: skipped one test, strace is not installed");

Deno.test({
  name: "prune --dry-run does not make again a lock file released while it looks at it",
  ignore: !hasStrace,
  fn: async () => {
    const fx = await makeServerRoot({ rows: 10 });
    const snaps = join(fx.root, "snapshots");
    const lock = join(snaps, "a.tar.gz.vigo-create.lock");
    const log = join(fx.root, "strace.log");
    try {
      await Deno.mkdir(snaps, { recursive: true });
      await Deno.writeTextFile(lock, `${await deadPid()}\n`);
      // The dry run has seen the lock file (its lstat) and is about to open it: held there by strace,
      // the file goes as a create's release unlinks it.
      const child = new Deno.Command("strace", {
        args: [
          "-f",
          "-qq",
          "-o",
          log,
          "-P",
          lock,
          "-e",
          "trace=open,openat",
          "-e",
          "inject=open,openat:delay_enter=2000000",
          ...cliCommand(),
          "backup",
          "prune",
          "--keep",
          "1",
          "--dry-run",
          ...fx.flags,
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      while (!(await Deno.readTextFile(log).catch(() => "")).includes("open")) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await Deno.remove(lock);
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(names(snaps), [], "the dry run left a lock file that was not there");
    } finally {
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});
