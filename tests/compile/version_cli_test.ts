/**
 * `vigocli --version` and `vigocli --help` as an operator sees them, from sources and (re-run by
 * `deno task test` with VIGOCLI_BIN) from each shipped executable.
 */
import assert from "node:assert/strict";
import { basename } from "node:path";
import { runCli } from "../helpers/cli.ts";

const bin = Deno.env.get("VIGOCLI_BIN");

Deno.test("--version: first line, then one label per fact, right for this build", async () => {
  const r = await runCli(["--version"]);
  assert.equal(r.code, 0, r.stderr);
  const [first, ...rest] = r.stdout.trimEnd().split("\n");
  assert.match(first, /^vigocli \d+\.\d+\.\d+$/);
  const labels = rest.map((l) => l.split(":")[0]);
  assert.deepEqual(labels, ["commit", "built", "compiler", "runtime", "sqlite", "target", "arch"]);
  const v = Object.fromEntries(rest.map((l) => [l.split(":")[0], l.slice(l.indexOf(":") + 1).trim()]));
  assert.match(v.sqlite, /^3\.\d+\.\d+$/);
  if (bin) {
    const arch = /vigocli-(x86_64|aarch64)-linux/.exec(basename(bin))?.[1];
    assert.ok(arch, `VIGOCLI_BIN ${bin} is not a shipped file name`);
    assert.match(v.commit, /^[0-9a-f]{40}(-dirty)?$/);
    assert.match(v.built, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(v.compiler, /^(bun|deno) \d+\.\d+\.\d+ \(/);
    assert.equal(v.target, `${arch}-linux`);
    assert.equal(v.arch, `${arch}-linux`);
  } else {
    assert.match(v.runtime, /^deno \d+\.\d+\.\d+$/);
    assert.match(v.target, /\(from sources\)$/);
  }
});

Deno.test("--version: the fast path (alone) prints what commander prints (with another option)", async () => {
  const fast = await runCli(["-V"]);
  const full = await runCli(["--verbose", "--version"]);
  assert.equal(fast.code, 0, fast.stderr);
  assert.equal(full.code, 0, full.stderr);
  assert.equal(fast.stdout, full.stdout);
});

Deno.test("--help: lists the whole command tree, including the backup subcommands", async () => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: vigocli /);
  const tree = r.stdout.slice(r.stdout.indexOf("Command tree:"));
  const paths = [...tree.matchAll(/^ {2}vigocli ((?:[a-z-]+ ?)+?)(?: [<[]| {2,}|$)/gm)].map((m) =>
    m[1].trim()
  );
  for (
    const want of [
      "backup",
      "backup create",
      "backup inspect",
      "backup restore",
      "backup verify",
      "backup list",
    ]
  ) {
    assert.ok(paths.includes(want), `command tree lacks "${want}": ${paths.join(", ")}`);
  }
  assert.ok(paths.indexOf("backup create") > paths.indexOf("backup"), "subcommands follow their group");
  const backupHelp = await runCli(["backup", "--help"]);
  assert.equal(backupHelp.code, 0);
  assert.doesNotMatch(backupHelp.stdout, /Command tree:/, "the tree belongs to the root help only");
});
