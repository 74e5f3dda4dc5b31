/**
 * `backup create --dry-run` writes nothing (the server root, its database's -wal/-shm, the output
 * directory, the temp dir are all untouched) and reports what a real create then archives: the same
 * files, bytes and database page count; with -v every file; the human form names each part; the master
 * key rules of create hold (--exclude-master-key leaves it out, a missing key is refused).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { exists, makeServerRoot, treeHash } from "./fixture.ts";

Deno.test("create --dry-run: writes nothing, and matches what create archives", async () => {
  const fx = await makeServerRoot({ rows: 200 });
  await Deno.remove(join(fx.root, "snapshots"), { recursive: true });
  const before = await treeHash(fx.root);
  const outDir = join(fx.root, "not-yet", "");

  const human = await runCli(["backup", "create", ...fx.flags, `${outDir}/`, "--dry-run"]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^dry run: would archive .* into .*not-yet\/vigo-backup-.*\.tar\.gz$/m);
  assert.match(human.stdout, /^ {2}db\/vigo\.db +\d+ pages × \d+ bytes = \d+ bytes/m);
  for (const part of ["stacks/", "secrets/", "tls/", "server.yaml"]) {
    assert.match(human.stdout, new RegExp(`^  ${part.replace(".", "\\.")} +\\d+ files, \\d+ bytes`, "m"));
  }
  assert.match(human.stdout, /nothing was written$/m);

  const verbose = await runCli(["-v", "backup", "create", ...fx.flags, "--dry-run"]);
  assert.equal(verbose.code, 0, verbose.stderr);
  assert.match(verbose.stderr, /would archive stacks\/vars\/blob\.bin \(65536 bytes\)/);

  // The upload is named as the local file is, as create names it.
  const up = await runCli([
    "backup",
    "create",
    ...fx.flags,
    "--dry-run",
    "--upload",
    "--json",
    join(outDir, "mine.tar.gz"),
  ]);
  assert.equal(up.code, 0, up.stderr);
  assert.match(JSON.parse(up.stdout).upload, /\/archives\/mine\.tar\.gz$/);

  const r = await runCli(["backup", "create", ...fx.flags, "--dry-run", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.deepEqual(await treeHash(fx.root), before, "nothing written under the server root");
  assert.equal(await exists(join(fx.root, "not-yet")), false);
  assert.equal(await exists(join(fx.root, "snapshots")), false);

  const real = join(await Deno.makeTempDir({ prefix: "vigo-dry-" }), "a.tar.gz");
  const made = await runCli(["backup", "create", ...fx.flags, real]);
  assert.equal(made.code, 0, made.stderr);
  const manifest = JSON.parse((await runCli(["backup", "inspect", real])).stdout);
  const files = manifest.entries.filter((e: { type: string }) => e.type === "file");
  assert.equal(plan.total_files, files.length);
  assert.equal(plan.database.page_count, manifest.database.page_count);
  const treeBytes = files
    .filter((e: { path: string }) => e.path !== "db/vigo.db")
    .reduce((n: number, e: { size: number }) => n + e.size, 0);
  assert.equal(plan.total_bytes - plan.database.bytes, treeBytes);
  const stacks = plan.parts.find((p: { path: string }) => p.path === "stacks/");
  assert.equal(stacks.symlinks, 1);
  assert.equal(stacks.files, files.filter((e: { path: string }) => e.path.startsWith("stacks/")).length);

  // The master key rules of create: left out with --exclude-master-key; missing → refused (exit 9).
  const secretFiles = (o: { parts: { path: string; files: number }[] }) =>
    o.parts.find((p) => p.path === "secrets/")!.files;
  const ex = await runCli(["backup", "create", ...fx.flags, "--dry-run", "--json", "--exclude-master-key"]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(secretFiles(JSON.parse(ex.stdout)), secretFiles(plan) - 1);
  await Deno.remove(join(fx.root, "secrets/.master.key"));
  const missing = await runCli(["backup", "create", ...fx.flags, "--dry-run"]);
  assert.equal(missing.code, 9, missing.stderr);
  assert.match(missing.stderr, /secrets\/\.master\.key: not found/);
  await Deno.remove(fx.root, { recursive: true });
  await Deno.remove(join(real, ".."), { recursive: true });
});
