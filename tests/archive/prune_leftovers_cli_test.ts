/**
 * A local `backup prune` removes what a SIGKILLed `backup create` left in paths.snapshots (its temporary
 * archive `.NAME.tmp-<pid>-<hex>` and its lock file), never those of a create still running (here one
 * stopped mid-write with SIGSTOP), and lists them as leftovers, in its text and in `--json`, with a lone
 * sidecar a killed prune left; a dry run lists the same and removes none
 * (prune_leftovers_dry_run_cli_test.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { names } from "../helpers/interrupt.ts";
import { makeServerRoot } from "./fixture.ts";

/** Starts a create to `<snaps>/<name>` and stops it (SIGSTOP) once its temporary archive exists. */
async function stoppedCreate(
  flags: string[],
  snaps: string,
  name: string,
): Promise<{ child: Deno.ChildProcess; temp: string }> {
  const child = spawnCli(["backup", "create", ...flags, join(snaps, name)]);
  const deadline = Date.now() + 60_000;
  let temp: string | undefined;
  while (!(temp = names(snaps).find((n) => n.startsWith(`.${name}.tmp-`))) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2));
  }
  Deno.kill(child.pid, "SIGSTOP");
  assert.ok(temp, `no temporary file of ${name} appeared: ${names(snaps)}`);
  // The sweep decides by the PID in the name: it must be the create's own.
  assert.match(temp, new RegExp(`^\\.${name.replaceAll(".", "\\.")}\\.tmp-${child.pid}-[0-9a-f]{12}$`));
  return { child, temp };
}

async function sigkill(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await child.output();
}

async function prune(flags: string[], ...extra: string[]) {
  const r = await runCli(["backup", "prune", "--keep", "1", ...flags, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test("prune removes a SIGKILLed create's temporary file and lock, never a running create's, and lists them", async () => {
  const fx = await makeServerRoot({ rows: 20_000 });
  const snaps = join(fx.root, "snapshots");
  let running: Deno.ChildProcess | undefined;
  try {
    const a = await stoppedCreate(fx.flags, snaps, "a.tar.gz");
    running = a.child;
    const left = [a.temp, "a.tar.gz.vigo-create.lock"].sort();
    assert.deepEqual(JSON.parse(await prune(fx.flags, "--json")).leftovers, [], "a running create's files");
    assert.deepEqual(names(snaps), left);

    await sigkill(a.child);
    running = undefined;
    assert.deepEqual(JSON.parse(await prune(fx.flags, "--json", "--dry-run")).leftovers, [
      { name: "a.tar.gz.vigo-create.lock", reason: "lock file of a killed create" },
      { name: a.temp, reason: "temporary file of a killed run" },
    ]);
    assert.deepEqual(names(snaps), left, "--dry-run removed nothing");
    const text = await prune(fx.flags);
    assert.match(text, new RegExp(`^delete  ${a.temp}  \\(temporary file of a killed run\\)$`, "m"));
    assert.match(text, /^delete {2}a\.tar\.gz\.vigo-create\.lock {2}\(lock file of a killed create\)$/m);
    assert.match(text, /: deleted 0 of 0 archive\(s\) and 2 leftover file\(s\) of killed runs$/m);
    assert.deepEqual(names(snaps), []);

    const b = await stoppedCreate(fx.flags, snaps, "b.tar.gz");
    await sigkill(b.child);
    // What a prune killed between an archive and its sidecar leaves, older than the minute a create may
    // take between its two renames.
    const lone = join(snaps, "old.tar.gz.sha256");
    await Deno.writeTextFile(lone, `${"0".repeat(64)}  old.tar.gz\n`);
    await Deno.utime(lone, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    assert.deepEqual(JSON.parse(await prune(fx.flags, "--json")).leftovers, [
      { name: "old.tar.gz.sha256", reason: "sidecar whose archive is gone" },
      { name: "b.tar.gz.vigo-create.lock", reason: "lock file of a killed create" },
      { name: b.temp, reason: "temporary file of a killed run" },
    ]);
    assert.deepEqual(names(snaps), []);
  } finally {
    if (running) await sigkill(running);
    await Deno.remove(fx.root, { recursive: true });
  }
});
