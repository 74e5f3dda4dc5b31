/**
 * The documentation the program prints: examples on every command, one exit-code table (the README's is
 * the same), shell completions that really complete in bash, zsh and fish, and a man page man(1) renders.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildProgram } from "../../lib/cli/program.ts";
import { commandSpec, flattenSpec } from "../../lib/cli/command_spec.ts";
import { HELP_EXAMPLES } from "../../lib/cli/help_examples.ts";
import { EXIT_CODE_TABLE } from "../../lib/cli/exit_codes.ts";
import { ExitCode } from "../../lib/errors.ts";
import { completionScript } from "../../lib/cli/completion.ts";
import { manPage } from "../../lib/cli/man_page.ts";
import type { Command } from "@commander-js/extra-typings";
import { REPO_ROOT } from "../helpers/cli.ts";

const spec = async () => commandSpec(await buildProgram() as unknown as Command);

async function sh(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const out = await new Deno.Command(cmd, { args, cwd, env: { ...env, PATH: Deno.env.get("PATH")! } })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("help: every command has examples, and every example belongs to a command", async () => {
  // vigocli itself included (path "").
  const paths = flattenSpec(await spec()).map((c) => c.path.join(" "));
  assert.deepEqual(paths.filter((p) => !(HELP_EXAMPLES[p]?.length > 0)), [], "commands without examples");
  assert.deepEqual(
    Object.keys(HELP_EXAMPLES).filter((p) => !paths.includes(p)),
    [],
    "examples of no command",
  );
});

Deno.test("help: the exit-code table covers every ExitCode, and the README's table says the same", async () => {
  assert.deepEqual(EXIT_CODE_TABLE.map((r) => r.code), Object.values(ExitCode).sort((a, b) => a - b));
  const readme = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
  const section = readme.split("## Exit codes")[1].split("\n## ")[0];
  const rows = [...section.matchAll(/^\| (\d+) +\| (.+?) +\|$/gm)].map((m) => [Number(m[1]), m[2]]);
  assert.deepEqual(rows, EXIT_CODE_TABLE.map((r) => [r.code, r.meaning]));
});

/** Completion candidates bash offers for the words typed so far (the last one being completed). */
async function bashComplete(script: string, words: string[], cwd?: string): Promise<string[]> {
  const file = await Deno.makeTempFile({ suffix: ".bash" });
  await Deno.writeTextFile(file, script);
  const arr = words.map((w) => `'${w}'`).join(" ");
  const r = await sh(
    "bash",
    [
      "-c",
      `source ${file}; COMP_WORDS=(${arr}); COMP_CWORD=${
        words.length - 1
      }; _vigocli; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    {},
    cwd,
  );
  await Deno.remove(file);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean);
}

Deno.test("completion: bash script parses and completes commands, options and option values", async () => {
  const script = completionScript("bash", await spec());
  const file = await Deno.makeTempFile({ suffix: ".bash" });
  await Deno.writeTextFile(file, script);
  assert.equal((await sh("bash", ["-n", file])).code, 0);
  await Deno.remove(file);
  assert.deepEqual(await bashComplete(script, ["vigocli", "backup", "re"]), [
    "restore",
    "replicate",
    "replica",
  ]);
  assert.deepEqual(await bashComplete(script, ["vigocli", "backup", "replica", "l"]), [
    "list",
    "litestream-config",
  ]);
  const opts = await bashComplete(script, ["vigocli", "backup", "restore", "--d"]);
  assert.deepEqual(opts.sort(), ["--db-only", "--decrypt", "--dry-run"]);
  // the value of --password-file is a file name, not a sub-command
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "pw-file"), "x");
  const files = await bashComplete(script, ["vigocli", "backup", "create", "--password-file", `${dir}/pw`]);
  assert.deepEqual(files, [`${dir}/pw-file`]);
  await Deno.remove(dir, { recursive: true });
  // A fixed set of values completes as that set, not as file names.
  assert.deepEqual(await bashComplete(script, ["vigocli", "completion", ""]), ["bash", "zsh", "fish"]);
  assert.deepEqual(await bashComplete(script, ["vigocli", "backup", "replicate", "--log-level", "w"]), [
    "warn",
  ]);
  // The global flags after a command, where they are accepted too; the --target/--server-root twin.
  assert.deepEqual(await bashComplete(script, ["vigocli", "backup", "list", "--qu"]), ["--quiet"]);
  assert.deepEqual(await bashComplete(script, ["vigocli", "backup", "restore", "--server-r"]), [
    "--server-root",
  ]);
});

Deno.test("completion: zsh script parses and registers vigocli's completion", async () => {
  const file = await Deno.makeTempFile({ suffix: ".zsh" });
  await Deno.writeTextFile(file, completionScript("zsh", await spec()));
  assert.equal((await sh("zsh", ["-n", file])).code, 0);
  // The walker is the bash one (checked above); here: compinit takes it as vigocli's completer.
  const r = await sh("zsh", [
    "-c",
    `autoload -U compinit && compinit -u; source ${file}; print -r -- $_comps[vigocli]`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /_vigocli/);
  await Deno.remove(file);
});

Deno.test("completion: fish script parses and completes", async () => {
  const file = await Deno.makeTempFile({ suffix: ".fish" });
  await Deno.writeTextFile(file, completionScript("fish", await spec()));
  assert.equal((await sh("fish", ["-n", file])).code, 0);
  const r = await sh("fish", ["-c", `source ${file}; complete -C 'vigocli backup ver'`]);
  assert.match(r.stdout, /^verify\t/m, r.stderr);
  const o = await sh("fish", ["-c", `source ${file}; complete -C 'vigocli crate run --dr'`]);
  assert.match(o.stdout, /^--dry-run\t/m, o.stderr);
  const level = await sh("fish", [
    "-c",
    `source ${file}; complete -C 'vigocli backup replicate --log-level '`,
  ]);
  assert.deepEqual(level.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0]).sort(), [
    "debug",
    "error",
    "info",
    "warn",
  ]);
  const shells = await sh("fish", ["-c", `source ${file}; complete -C 'vigocli completion '`]);
  assert.match(shells.stdout, /^zsh$/m, shells.stderr);
  const quiet = await sh("fish", ["-c", `source ${file}; complete -C 'vigocli backup list --qu'`]);
  assert.match(quiet.stdout, /^--quiet\t/m, quiet.stderr);
  await Deno.remove(file);
});

Deno.test("man page: man(1) renders it without warnings, with commands, exit status and examples", async () => {
  const file = await Deno.makeTempFile({ suffix: ".1" });
  await Deno.writeTextFile(file, manPage(await spec(), "0.0.0", "2026-01-01"));
  const r = await sh("man", ["-l", file], { MANWIDTH: "80", MANPAGER: "cat", PAGER: "cat" });
  await Deno.remove(file);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), "");
  for (
    const s of ["vigocli backup restore <archive>", "EXIT STATUS", "--password-file", "tar --force-local"]
  ) {
    assert.ok(r.stdout.replace(/‐\n\s*/g, "").includes(s), `man page lacks ${s}`);
  }
  assert.match(r.stdout, /^\s+130\s+interrupted/m);
});

/** Completion candidates fish offers for `line` (the part after the last space being completed), in `cwd`. */
async function fishComplete(script: string, line: string, cwd?: string): Promise<string[]> {
  const file = await Deno.makeTempFile({ suffix: ".fish" });
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command("fish", {
    args: ["-c", `source ${file}; complete -C '${line}'`],
    cwd,
    env: { PATH: Deno.env.get("PATH")! },
  }).output();
  await Deno.remove(file);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map((l) => l.split("\t")[0]);
}

Deno.test("completion: help's words complete as command names in bash, zsh's walker and fish, not files", async () => {
  const s = await spec();
  const top = [...s.subcommands.map((c) => c.path[0]), "exit-codes"].sort();
  const backup = s.subcommands.find((c) => c.path[0] === "backup")!.subcommands.map((c) => c.path[1]).sort();
  const cwd = await Deno.makeTempDir();
  await Deno.writeTextFile(join(cwd, "some-file.txt"), "");
  const bash = completionScript("bash", s);
  const fish = completionScript("fish", s);
  assert.deepEqual((await bashComplete(bash, ["vigocli", "help", ""], cwd)).sort(), top);
  assert.deepEqual((await bashComplete(bash, ["vigocli", "help", "backup", ""], cwd)).sort(), backup);
  assert.deepEqual(await bashComplete(bash, ["vigocli", "help", "backup", "restore", ""], cwd), []);
  assert.deepEqual((await fishComplete(fish, "vigocli help ", cwd)).sort(), top);
  assert.deepEqual((await fishComplete(fish, "vigocli help backup ", cwd)).sort(), backup);
  assert.deepEqual(await fishComplete(fish, "vigocli help backup restore ", cwd), []);
  await Deno.remove(cwd, { recursive: true });
});

Deno.test("completion: bash completes the value of --opt=VALUE, split at the = as bash splits it", async () => {
  const script = completionScript("bash", await spec());
  // bash's COMP_WORDBREAKS has "=": `--name-format=<TAB>` is the words `--name-format` `=`, the "="
  // being completed; `--log-level=w<TAB>` is `--log-level` `=` `w`.
  assert.deepEqual(await bashComplete(script, ["vigocli", "backup", "create", "--name-format", "="]), [
    "rfc3339",
    "compact",
  ]);
  assert.deepEqual(await bashComplete(script, ["vigocli", "backup", "replicate", "--log-level", "=", "w"]), [
    "warn",
  ]);
  // a value given with = is not taken for a command word
  assert.deepEqual(
    await bashComplete(script, ["vigocli", "backup", "replicate", "--log-level", "=", "warn", "--log-f"]),
    ["--log-format"],
  );
});

Deno.test("completion: fish completes files for an optional argument ([out]) and offers -h/--help", async () => {
  const s = await spec();
  const fish = completionScript("fish", s);
  const cwd = await Deno.makeTempDir();
  await Deno.writeTextFile(join(cwd, "out.tar.gz"), "");
  assert.deepEqual(await fishComplete(fish, "vigocli backup create ", cwd), ["out.tar.gz"]);
  assert.deepEqual(await fishComplete(fish, "vigocli backup inspect ", cwd), ["out.tar.gz"]);
  // as bash offers them
  assert.deepEqual(await fishComplete(fish, "vigocli backup create --h", cwd), ["--help"]);
  assert.deepEqual(await bashComplete(completionScript("bash", s), ["vigocli", "backup", "create", "--h"]), [
    "--help",
  ]);
  await Deno.remove(cwd, { recursive: true });
});

Deno.test("completion: zsh completes on the first TAB of a new shell, installed in $fpath as documented", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "_vigocli"), completionScript("zsh", await spec()));
  // An interactive zsh on a terminal (zsh/zpty), as an operator's: compinit, then one TAB.
  const driver = `zmodload zsh/zpty
zpty z "TERM=dumb zsh -f -i"
zpty -w z "PS1='%% '; fpath=(${dir} \\$fpath); autoload -Uz compinit; compinit -u -D; print READY"
zpty -r -m z out '*READY*'
zpty -w -n z "vigocli backup cre"$'\\t'
sleep 2
all=""; while zpty -r -t z chunk; do all+=$chunk; done
zpty -d z
print -r -- "$all"`;
  const r = await sh("zsh", ["-f", "-c", driver]);
  await Deno.remove(dir, { recursive: true });
  assert.equal(r.code, 0, r.stderr);
  const typed = r.stdout.split("READY").at(-1)!;
  assert.match(typed, /vigocli backup create/, JSON.stringify(typed));
});
