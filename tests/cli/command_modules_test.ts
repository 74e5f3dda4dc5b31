/** Which command modules a run loads: the one it names, or all of them whenever anything else is asked. */
import assert from "node:assert/strict";
import { type CommandModule, commandsToLoad } from "../../lib/cli/command_modules.ts";

const module = (...path: string[]): CommandModule<string> => ({
  path,
  load: () => Promise.resolve(path.join(" ")),
});
const ALL = [
  module("backup", "create"),
  module("backup", "download"),
  module("backup", "replica"),
  module("secret"),
];
const paths = (argv?: string[]) => commandsToLoad(ALL, argv).map((c) => c.path.join(" "));
const every = ALL.map((c) => c.path.join(" "));

Deno.test("commandsToLoad: the command a run names, after any global flags", () => {
  assert.deepEqual(paths(["backup", "download", "x.tar.gz", "--url", "s3://b/p", "-o", "out"]), [
    "backup download",
  ]);
  assert.deepEqual(paths(["-q", "--progress", "backup", "download", "x.tar.gz"]), ["backup download"]);
  assert.deepEqual(paths(["backup", "replica", "restore", "--target", "/t"]), ["backup replica"]);
  assert.deepEqual(paths(["secret", "set", "name"]), ["secret"]);
  // Missing arguments are the command's own complaint: its module is enough for it.
  assert.deepEqual(paths(["backup", "download"]), ["backup download"]);
});

Deno.test("commandsToLoad: help, completion, a group alone, a misspelling or another option first load all", () => {
  assert.deepEqual(paths(), every);
  for (
    const argv of [
      [],
      ["--help"],
      ["backup", "download", "--help"],
      ["backup", "download", "-h"],
      ["help", "backup", "download"],
      ["completion", "bash"],
      ["backup"],
      ["backup", "dowload", "x.tar.gz"],
      ["--json", "backup", "download", "x.tar.gz"],
      ["-vq", "backup", "download", "x.tar.gz"],
      ["-V"],
    ]
  ) {
    assert.deepEqual(paths(argv), every, argv.join(" "));
  }
});
