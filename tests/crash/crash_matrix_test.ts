/**
 * The crash matrix's fast sample (scripts/crash_matrix.ts runs the full one, and so does this file
 * with VIGO_LONG_TESTS=1): each of the eleven operations SIGKILLed at three points (two by time, one by
 * operation count); after each kill the old
 * output is intact or the new one complete, the source database healthy and unlocked, the re-run
 * succeeds and leaves no temporary file. Needs strace; skipped with a message without it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { killOnce, killPoints, measure } from "./crash_harness.ts";
import { crashScenarios } from "./crash_scenarios.ts";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const hasStrace = (() => {
  try {
    return new Deno.Command("strace", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!hasStrace) {
  console.warn("crash_matrix_test: skipped, strace is not installed (scripts/install_test_deps.sh)");
}

/** VIGO_LONG_TESTS=1: the full matrix (32 kills per operation, 4× the data) instead of the sample. */
const long = Deno.env.get("VIGO_LONG_TESTS") === "1";
const kills = long ? 32 : 3;

for (const s of crashScenarios(long ? 4 : 1)) {
  Deno.test({
    name: `crash sample: ${s.name} killed at ${kills} points, then re-run`,
    ignore: !hasStrace,
    async fn() {
      const m = await measure(s);
      assert.ok(m.ops > 0, "the clean run made no state-changing system call");
      const outcomes = [];
      for (const p of killPoints(kills, m)) outcomes.push(await killOnce(s, p));
      for (const o of outcomes) {
        assert.ok(!o.state.startsWith("DAMAGED"), `${JSON.stringify(o.point)}: ${o.state}`);
        assert.deepEqual(o.problems, [], `${JSON.stringify(o.point)}: ${o.problems.join("; ")}`);
      }
      assert.ok(outcomes.some((o) => o.killed), "no kill landed before the command finished");
    },
  });
}

Deno.test("a sidecar without its archive (create killed between its two renames) is replaced by the next create", async () => {
  const fx = await makeServerRoot({ rows: 50 });
  const out = join(fx.root, "snapshots", "x.tar.gz");
  await Deno.writeTextFile(`${out}.sha256`, `${"0".repeat(64)}  x.tar.gz\n`);
  const r = await runCli(["backup", "create", ...fx.flags, out]);
  assert.equal(r.code, 0, r.stderr);
  const v = await runCli(["backup", "verify", out]);
  assert.equal(v.code, 0, v.stderr);
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("a create killed between linking its archive into place and removing the temporary name: the next create to that path removes the temporary file as it refuses", async () => {
  const fx = await makeServerRoot({ rows: 50 });
  const out = join(fx.root, "snapshots", "x.tar.gz");
  assert.equal((await runCli(["backup", "create", ...fx.flags, out])).code, 0);
  // The matrix found this for download (op 67 of 69): the same hard link under a dead process's temp name.
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  const temp = join(fx.root, "snapshots", `.x.tar.gz.tmp-${dead.pid}-0123456789ab`);
  await Deno.link(out, temp);
  const again = await runCli(["backup", "create", ...fx.flags, out]);
  assert.equal(again.code, 10, again.stderr);
  assert.equal(await Deno.lstat(temp).then(() => true, () => false), false, "temporary file removed");
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("an upload killed between its archive and its sidecar, or mid-write: the re-run completes it and removes the dead temporary file", async () => {
  const fx = await makeServerRoot({ rows: 50 });
  const name = "vigo-backup-2026-03-01T02:00:00Z.tar.gz";
  const archive = join(fx.root, "snapshots", name);
  assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
  const remote = join(fx.root, "remote", "archives");
  await Deno.mkdir(remote, { recursive: true });
  // What the matrix found (full run, ops 70 and 75 of 77): the archive stored without its sidecar, and
  // a dead process's temporary file beside it.
  await Deno.copyFile(archive, join(remote, name));
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  const temp = join(remote, `.${name}.tmp-${dead.pid}-0123456789ab`);
  await Deno.writeFile(temp, new Uint8Array(100));
  const url = `file://${join(fx.root, "remote")}`;
  const r = await runCli(["backup", "upload", archive, "--url", url, ...fx.flags]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await Deno.readTextFile(join(remote, `${name}.sha256`)),
    await Deno.readTextFile(`${archive}.sha256`),
  );
  assert.equal(await Deno.lstat(temp).then(() => true, () => false), false, "temporary file removed");
  const again = await runCli(["backup", "upload", archive, "--url", url, ...fx.flags]);
  assert.equal(again.code, 10, "a complete archive with its sidecar is still refused");
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("an upload --replace killed between its two puts: download refuses (exit 8) naming the re-run, which stores the new pair", async () => {
  const fx = await makeServerRoot({ rows: 50 });
  const name = "vigo-backup-2026-03-01T02:00:00Z.tar.gz";
  const archive = join(fx.root, "snapshots", name);
  const remote = join(fx.root, "remote");
  const url = `file://${remote}`;
  assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
  assert.equal((await runCli(["backup", "upload", archive, "--url", url, ...fx.flags])).code, 0);
  await Deno.remove(archive);
  await Deno.remove(`${archive}.sha256`);
  await Deno.writeTextFile(join(fx.root, "stacks/vars/global.yaml"), "ntp: time.example.org\n");
  assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
  // What the matrix's upload --replace row finds (ops 67-70 of 72): the new sidecar over the old archive.
  await Deno.copyFile(`${archive}.sha256`, join(remote, "archives", `${name}.sha256`));
  const dl = join(fx.root, "dl");
  await Deno.mkdir(dl);
  const download = () => runCli(["backup", "download", name, "-o", `${dl}/`, "--url", url, ...fx.flags]);
  const refused = await download();
  assert.equal(refused.code, 8, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(
      `checksum mismatch: .*\\(nothing was written\\); an interrupted 'backup upload --replace' of ${name} ` +
        "leaves its new sidecar beside the old archive, and running it again stores the new pair; otherwise " +
        "the archive or its sidecar was damaged \\(where stored or on the way here\\)\n$",
    ),
  );
  const again = await runCli(["backup", "upload", archive, "--replace", "--url", url, ...fx.flags]);
  assert.equal(again.code, 0, again.stderr);
  const got = await download();
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual(await Deno.readFile(join(dl, name)), await Deno.readFile(archive));
  await Deno.remove(fx.root, { recursive: true });
});
