/**
 * `backup drill` whose own scratch directory is on a full disk (a small tmpfs, for real): the drill
 * could not check the paths it restores, which is not a verdict on the backup. Exit 11, each such path
 * "error" naming the scratch file that failed (never "fail", which would blame a good archive), and
 * `backup status` says the drill could not check rather than that it failed.
 * With no room for the report either, exit 11 names the report and says what each path found.
 * Mounting needs root: without it the test is skipped, saying so.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import { makeDeployment } from "./fixture.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("drill_scratch_full_cli_test: skipped, mounting a tmpfs needs root");

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name: "backup drill on a full scratch disk: exit 11, paths 'error' naming the scratch file, not 'fail'",
  ignore: !isRoot,
  async fn() {
    const d = await makeDeployment();
    const scratch = join(d.base, "scratch");
    await Deno.mkdir(scratch);
    await sh(`mount -t tmpfs -o size=48k,mode=0700 tmpfs '${scratch}'`);
    try {
      const flags = ["--server-root", d.root, "--scratch", scratch];
      const r = await runCli(["backup", "drill", "--json", ...flags]);
      assert.equal(r.code, 11, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout);
      const archive = report.paths.archive;
      assert.equal(archive.status, "error", JSON.stringify(archive));
      assert.match(archive.message, /could not run \(its own scratch directory, not the backup\)/);
      assert.ok(archive.message.includes(`${scratch}/.scratch-`), archive.message);
      assert.match(archive.message, /no space left on device/);
      assert.equal(report.ok, false);
      assert.equal(report.paths.snapshot.status, "error", JSON.stringify(report.paths.snapshot));
      assert.equal(report.paths.replica.status, "error", JSON.stringify(report.paths.replica));
      assert.deepEqual(JSON.parse(readFileSync(report.report_path, "utf8")).paths, report.paths);
      assert.match(r.stderr, /drill-\d{8}T\d{6}Z(_\d{3})?\.json: the drill could not check archive/);
      assert.deepEqual([...Deno.readDirSync(scratch)], [], "the scratch directory is removed");

      const status = await runCli(["backup", "status", "--json", "--server-root", d.root]);
      assert.match(status.stdout, /"drill: last drill could not check archive: the drill could not run/);
      assert.doesNotMatch(status.stdout, /FAILED|failed the last drill/);
      const text = await runCli(["backup", "status", "--server-root", d.root]);
      assert.match(text.stdout, /^drill +INCOMPLETE .*archive error/m);
    } finally {
      await sh(`umount '${scratch}'`);
      d.cleanup();
    }
  },
});

Deno.test({
  name:
    "backup drill with no room for its report either: exit 11 naming the report, and what the drill found",
  ignore: !isRoot,
  async fn() {
    const d = await makeDeployment();
    const orig = `${d.snapshots}.orig`;
    await sh(`cp -a '${d.snapshots}' '${orig}'`);
    await sh(`mount -t tmpfs -o size=64k tmpfs '${d.snapshots}'`);
    try {
      await sh(`cp -a '${orig}/.' '${d.snapshots}/' && mkdir '${d.snapshots}/drills'`);
      await sh(`head -c 200000 /dev/zero > '${d.snapshots}/fill' || true`);
      const r = await runCli(["backup", "drill", "--server-root", d.root]);
      assert.equal(r.code, 11, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /drills\/drill-\d{8}T\d{6}Z\.json: no space left on device \(the drill's report could not be written; it found: archive error, snapshot error, replica error\)/,
      );
    } finally {
      await sh(`umount '${d.snapshots}'`);
      d.cleanup();
    }
  },
});
