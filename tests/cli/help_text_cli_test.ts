/**
 * What `--help` tells an operator about each option and example, through the real executable: no
 * programmer's defaults, every default the command applies, required options marked as such, and lines
 * that fit the terminal.
 */
import assert from "node:assert/strict";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { HELP_EXAMPLES } from "../../lib/cli/help_examples.ts";
import { makeServerRoot } from "../archive/fixture.ts";
import { wrapExample } from "../../lib/cli/help_wrap.ts";

/** `vigocli ARGS… --help` on stdout, its options' wrapped lines joined. */
async function helpOf(...args: string[]): Promise<string> {
  const r = await runCli([...args, "--help"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/\n {8,}/g, " ");
}

Deno.test("help: a repeatable option shows no default (its empty list or map)", async () => {
  const help = await helpOf("crate", "run");
  assert.match(help, /--var <name=value> +override a var the crate declares \(repeatable\)\n/);
  assert.doesNotMatch(help, /default: (\{\}|\[\])/);
});

Deno.test("help: replicate's --log-level shows its default, as --log-format does", async () => {
  const help = await helpOf("backup", "replicate");
  assert.match(help, /--log-level <level> .*default: info, or error with -q\)\n/);
  assert.match(help, /--log-format <format> .*default: "text"\)\n/);
});

Deno.test("help: a required -o/--output is shown as required in the usage line, option and command tree", async () => {
  const tree = await helpOf();
  for (
    const [path, args] of [[["crate", "restore-dump"], " <dump>"], [
      ["backup", "replica", "restore"],
      "",
    ]] as [
      string[],
      string,
    ][]
  ) {
    const help = await helpOf(...path);
    assert.match(help, new RegExp(`^Usage: vigocli ${path.join(" ")} -o <path> \\[options\\]${args}\n`));
    assert.match(help, /-o, --output <path> .*\(required\)\n/);
    assert.ok(tree.includes(`vigocli ${path.join(" ")} -o <path>${args} `), path.join(" "));
  }
  // still checked after the unknown options, which are named first
  const typo = await runCli(["crate", "restore-dump", "--outptu", "x", "d.sql"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown option '--outptu'/);
});

Deno.test("help --man: refused with a command (exit 2), which it would ignore; alone, the page", async () => {
  for (const words of [["backup", "restore"], ["nosuch"]]) {
    const r = await runCli(["help", ...words, "--man"]);
    assert.equal(r.code, 2, words.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /help --man: takes no command/);
  }
  const page = await runCli(["help", "--man"]);
  assert.equal(page.code, 0, page.stderr);
  assert.match(page.stdout, /^\.TH VIGOCLI 1 /m);
});

Deno.test("help: install-units' --dir example works as written in a fresh directory", async () => {
  const example = HELP_EXAMPLES["backup install-units"].find((l) => l.includes("--dir ./units"))!;
  const server = await makeServerRoot();
  const cwd = await Deno.makeTempDir();
  const vigocli = cliCommand().map((w) => `'${w}'`).join(" ");
  const out = await new Deno.Command("bash", {
    args: ["-c", `vigocli() { ${vigocli} "$@"; }\n${example}`],
    cwd,
    env: { VIGO_SERVER_ROOT: server.root },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.ok((await Array.fromAsync(Deno.readDir(`${cwd}/units`))).length > 0, "no unit written");
  await Deno.remove(cwd, { recursive: true });
  await Deno.remove(server.root, { recursive: true });
});

Deno.test("help: every --help and help exit-codes fits 80 columns when stdout is not a terminal", async () => {
  const paths = [[], ...Object.keys(HELP_EXAMPLES).filter(Boolean).map((p) => p.split(" "))];
  for (const path of paths) {
    const r = await runCli([...path, "--help"], { env: { COLUMNS: "80" } });
    assert.equal(r.code, 0, r.stderr);
    const wide = r.stdout.split("\n").filter((l) => l.length > 80);
    assert.deepEqual(wide, [], `vigocli ${path.join(" ")} --help`);
  }
  const codes = await runCli(["help", "exit-codes"]);
  assert.deepEqual(codes.stdout.split("\n").filter((l) => l.length > 80), []);
  assert.match(codes.stdout, /^ {4}3 {2}configuration missing .*\n {7}\S/m);
});

Deno.test("help: a wrapped example is the same command, its comment above it, continued with \\", () => {
  for (const example of Object.values(HELP_EXAMPLES).flat()) {
    const lines = wrapExample(example, 60);
    if (example.length <= 60) {
      assert.deepEqual(lines, [example]);
      continue;
    }
    const command = example.replace(/\s+# .*$/, "");
    const comment = lines.filter((l) => l.startsWith("# ")).map((l) => l.slice(2)).join(" ");
    assert.equal(comment, example.slice(command.length).trim().slice(2), example);
    const rest = lines.filter((l) => !l.startsWith("# ")).join("\n");
    assert.equal(rest.replace(/ \\\n {4}/g, " "), command);
    for (const l of lines) assert.ok(l.length <= 60 || /^\S+( \\)?$/.test(l.trim()), l);
  }
});
