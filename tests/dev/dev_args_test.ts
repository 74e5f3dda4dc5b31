/**
 * The development scripts' command lines (scripts/dev_args.ts): `--help` prints a usage with examples
 * and exits 0; an unknown option or a bad value is one line, exit 2, before the script does anything.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const script = (file: string, ...args: string[]) =>
  run(Deno.execPath(), ["run", "-A", "--quiet", `scripts/${file}`, ...args]);
const bench = (...args: string[]) => run(Deno.execPath(), ["run", "-A", "--quiet", "bench/main.ts", ...args]);

const SCRIPTS = [
  { file: "test.ts", name: "test", help: "./dev test --help" },
  { file: "compile.ts", name: "compile", help: "./dev compile --help" },
  { file: "example.ts", name: "example", help: "./dev example --help" },
  { file: "crash_matrix.ts", name: "crash_matrix", help: "deno run -A scripts/crash_matrix.ts --help" },
  { file: "bench_table.ts", name: "bench_table", help: "deno run -A scripts/bench_table.ts --help" },
  {
    file: "check_layers.ts",
    name: "check_layers",
    help: "deno run --allow-read scripts/check_layers.ts --help",
  },
];

Deno.test("every dev script's --help prints its usage with examples and exits 0", async () => {
  for (const s of SCRIPTS) {
    for (const flag of ["--help", "-h"]) {
      const r = await script(s.file, flag);
      assert.equal(r.code, 0, `${s.file} ${flag}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith("Usage: "), `${s.file} ${flag}:\n${r.stdout}`);
      assert.ok(r.stdout.includes("\nExamples:\n"), `${s.file} ${flag} lacks examples:\n${r.stdout}`);
      assert.equal(r.stderr, "", `${s.file} ${flag}`);
    }
  }
});

Deno.test("an unknown option is one line naming it and where the usage is, exit 2", async () => {
  for (const s of SCRIPTS) {
    const r = await script(s.file, "--bogus");
    assert.equal(r.code, 2, `${s.file}: ${r.stderr}`);
    assert.equal(r.stderr, `${s.name}: Unknown option '--bogus' (see ${s.help})\n`, s.file);
    assert.equal(r.stdout, "", s.file);
  }
});

Deno.test("bad values are refused before any work starts", async () => {
  const examples = `${REPO}examples/out`;
  const before = existsSync(examples) ? readdirSync(examples).length : 0;
  for (
    const [file, args, want] of [
      ["test.ts", ["--phases", "a,e"], "test: --phases: no phase e (phases: a,b,c,d)"],
      ["test.ts", ["--aarch64", "some"], "test: --aarch64 must be core or all, not some"],
      ["test.ts", ["--timeout-min", "0"], "test: --timeout-min must be a positive number of minutes, got 0"],
      ["test.ts", ["tests/drill", "tests/nosuch"], "test: tests/nosuch: no such file or directory"],
      ["compile.ts", ["--arch", "sparc"], "compile: unknown --arch sparc (expected x86_64 or aarch64)"],
      ["compile.ts", ["--compiler", "gcc"], "compile: unknown --compiler gcc (expected auto, bun or deno)"],
      ["crash_matrix.ts", ["--kills", "x"], "crash_matrix: --kills must be a positive integer, got x"],
      [
        "crash_matrix.ts",
        ["--only", "nope"],
        "crash_matrix: --only: no operation nope (operations: create, ",
      ],
      ["example.ts", ["extra"], "example: takes no arguments, got extra"],
      ["bench_table.ts", [], "bench_table: no RESULTS.json given"],
    ] as const
  ) {
    const r = await script(file, ...args);
    const what = `${file} ${args.join(" ")}`;
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
    assert.ok(lines[0].startsWith(want), `${what}: ${lines[0]}`);
    assert.ok(lines[0].endsWith("--help)"), `${what}: ${lines[0]}`);
    assert.equal(r.stdout, "", what);
  }
  // The example refused its argument before making an archive.
  assert.equal(existsSync(examples) ? readdirSync(examples).length : 0, before);
});

Deno.test("./dev test --help prints the usage without installing anything first", async () => {
  // A dpkg-query that leaves a mark shows whether scripts/install_test_deps.sh ran (it reports every
  // package as installed, so nothing is installed either way).
  const bin = await Deno.makeTempDir({ prefix: "vigocli-dev-args-" });
  const mark = `${bin}/asked`;
  try {
    await Deno.writeTextFile(
      `${bin}/dpkg-query`,
      `#!/bin/sh\ntouch '${mark}'\nprintf 'install ok installed'\n`,
      { mode: 0o755 },
    );
    const env = { PATH: `${bin}:${Deno.env.get("PATH")}` };
    const dev = (...args: string[]) =>
      new Deno.Command("bash", { args: ["dev", ...args], cwd: REPO, env, stdout: "piped", stderr: "piped" })
        .output();
    const help = await dev("test", "--help");
    assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
    assert.ok(new TextDecoder().decode(help.stdout).startsWith("Usage: ./dev test "));
    assert.ok(!existsSync(mark), "install_test_deps.sh ran before --help");
    // Any other `./dev test` installs first: the mark is made (here the run then stops at its bad option).
    const bad = await dev("test", "--phases", "x");
    assert.equal(bad.code, 2, new TextDecoder().decode(bad.stderr));
    assert.ok(existsSync(mark), "install_test_deps.sh did not run for ./dev test");
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test("./dev bench --help lists the options, every area and examples, and exits 0", async () => {
  const r = await bench("--help");
  assert.equal(r.code, 0, r.stderr);
  for (const want of ["--scale", "--only", "--rss-flat", "Examples:", "archive, backend", "rss"]) {
    assert.ok(r.stdout.includes(want), `--help lacks ${want}:\n${r.stdout}`);
  }
});

Deno.test("./dev bench refuses bad options in one line, exit 2, nothing measured", async () => {
  for (
    const [args, want] of [
      [["--only", "archive,nosuch"], "bench: --only: no area nosuch (areas: archive, "],
      [["--bogus"], "bench: Unknown option '--bogus'"],
      [["--scale", "x"], "bench: --scale must be a number from 0.001 to 10, got x"],
      [["--scale", "Infinity"], "bench: --scale must be a number from 0.001 to 10, got Infinity"],
      [["--scale", "1e-300"], "bench: --scale must be a number from 0.001 to 10, got 1e-300"],
      [["--scale", "0"], "bench: --scale must be a number from 0.001 to 10, got 0"],
      [["--runs", "0"], "bench: --runs must be a positive integer, got 0"],
    ] as const
  ) {
    const r = await bench(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(lines[0].startsWith(want), `${args.join(" ")}: ${lines[0]}`);
    assert.ok(lines[0].endsWith("(see ./dev bench --help)"), lines[0]);
    assert.equal(r.stdout, "");
  }
});
