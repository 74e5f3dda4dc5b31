/** `./dev bench`'s command line: --help, and one-line errors with exit 2 before anything is measured. */
import assert from "node:assert/strict";

const MAIN = new URL("../../bench/main.ts", import.meta.url).pathname;

async function bench(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("--help lists the options, every area and examples, and exits 0", async () => {
  const r = await bench("--help");
  assert.equal(r.code, 0, r.stderr);
  for (const want of ["--scale", "--only", "--rss-flat", "Examples:", "archive, backend", "rss"]) {
    assert.ok(r.stdout.includes(want), `--help lacks ${want}:\n${r.stdout}`);
  }
});

Deno.test("bad options are one line naming the problem, exit 2, nothing measured", async () => {
  for (
    const [args, want] of [
      [["--only", "archive,nosuch"], "bench: --only: no area nosuch (areas: archive, "],
      [["--bogus"], "bench: Unknown option '--bogus'"],
      [["--scale", "x"], "bench: --scale must be a positive number, got x"],
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
