/** The root `--help` command tree: every command path in order, with short one-line summaries. */
import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { commandTree, commandTreeText, summarize } from "../../lib/cli/help_tree.ts";

Deno.test("help tree: lists nested commands depth first, with arguments and without the implicit help", () => {
  const root = new Command("vigocli");
  const backup = new Command("backup").description("archives");
  backup.addCommand(
    new Command("restore").argument("<archive>").option("--dry-run").description("restore it"),
  );
  backup.addCommand(
    new Command("replica").description("replicas").addCommand(new Command("list").description("ls")),
  );
  root.addCommand(backup as unknown as Command);
  root.addCommand(new Command("secret").description("secrets") as unknown as Command);
  assert.deepEqual(commandTree(root as unknown as Command).map((e) => `${e.path}|${e.usage}`), [
    "backup|",
    "backup restore|<archive>",
    "backup replica|",
    "backup replica list|",
    "secret|",
  ]);
  const text = commandTreeText(root as unknown as Command);
  assert.match(text, /^\nCommand tree:\n {2}vigocli backup {2,}archives$/m);
  assert.match(text, /^ {2}vigocli backup restore <archive> {2}restore it$/m);
});

Deno.test("help tree: summaries keep the first clause and stay short", () => {
  assert.equal(summarize("restore an archive (stop the server first); details"), "restore an archive");
  assert.equal(summarize("list names. Never values"), "list names");
  const long = summarize("a ".repeat(60) + "end");
  assert.ok(long.length <= 64 && long.endsWith("…"), long);
});
