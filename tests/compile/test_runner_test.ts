/**
 * `scripts/test.ts` counts exactly what deno test ran (scripts/test_phase_runner.ts): checked against a
 * real `deno test` of a suite with known outcomes, so the closing `tests: N passed, N failed` line cannot
 * drift from reality.
 */
import assert from "node:assert/strict";
import { AARCH64_CORE, cliTestFiles } from "../../scripts/cli_test_files.ts";
import {
  countResultLines,
  denoTest,
  denoTestWithLeakCheck,
  parseDenoFailures,
  parseDenoSummary,
} from "../../scripts/test_phase_runner.ts";

Deno.test("test runner: parses deno test's real summary and failure list", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", new URL("./fixtures/sample_suite.ts", import.meta.url).pathname],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  const text = new TextDecoder().decode(out.stdout);
  assert.deepEqual(parseDenoSummary(text), { passed: 2, failed: 1, ignored: 1 });
  // a run stopped before its summary is counted from its result lines, to the same numbers
  assert.deepEqual(countResultLines(text), { passed: 2, failed: 1, ignored: 1 });
  const failures = parseDenoFailures(text);
  assert.equal(failures.length, 1);
  assert.match(failures[0], /^fails on purpose => .*sample_suite\.ts:\d+:\d+$/);
});

Deno.test("test runner: no summary line means no counts (the phase then counts as failed)", () => {
  assert.equal(parseDenoSummary('error: Module not found "file:///x.ts".\n'), undefined);
  assert.deepEqual(parseDenoSummary("\x1b[0m\x1b[32mok\x1b[0m | 3 passed | 0 failed (1s)\n"), {
    passed: 3,
    failed: 0,
    ignored: 0,
  });
});

Deno.test("test runner: finds every *_cli_test.ts, including this area's", () => {
  const files = cliTestFiles();
  assert.ok(files.includes("tests/compile/version_cli_test.ts"), files.join(", "));
  assert.ok(files.every((f) => f.startsWith("tests/") && f.endsWith("_cli_test.ts")));
});

Deno.test("test runner: the aarch64 core is a list of existing CLI tests", () => {
  const files = cliTestFiles();
  for (const f of AARCH64_CORE) assert.ok(files.includes(f), `${f} is not a CLI test file`);
  assert.deepEqual([...AARCH64_CORE].sort(), AARCH64_CORE, "sorted, so a missing or doubled entry shows");
  assert.ok(AARCH64_CORE.length < files.length);
});

Deno.test("test runner: a phase stopped at its limit keeps its counts, adds a failure, kills leaked processes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigocli-runner-" });
  try {
    const pidFile = `${dir}/pid`;
    const fixture = new URL("./fixtures/hang_suite.ts", import.meta.url).pathname;
    const r = await denoTest("hang", ["-A", "--no-check", fixture], { HANG_PID_FILE: pidFile }, 0.1, false);
    assert.equal(r.passed, 1);
    assert.equal(r.failed, 1);
    assert.match(r.failures.join("\n"), /phase limit/);
    const leaked = Number(await Deno.readTextFile(pidFile));
    // the group kill is immediate, but let the kernel reap before looking
    await new Promise((ok) => setTimeout(ok, 200));
    // a killed process may linger as a zombie where init does not reap: that is dead too
    const stat = await Deno.readTextFile(`/proc/${leaked}/stat`).catch(() => "");
    const alive = stat !== "" && !/^\d+ \(.*\) [ZX] /.test(stat);
    assert.equal(alive, false, `leaked process ${leaked} survived the phase`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("test runner: a phase's leak check fails on a leaked secret, counted as one more test", async () => {
  const suite = new URL("./fixtures/leaky_suite.ts", import.meta.url).pathname;
  const [phase, check] = await denoTestWithLeakCheck(
    "x (fixture)",
    ["-A", "--no-check", suite],
    {},
    5,
    false,
  );
  assert.deepEqual([phase.passed, phase.failed], [1, 0], "the fixture's own test passes");
  assert.deepEqual([check.name, check.passed, check.failed], ["x (secret leak check)", 0, 1]);
  assert.match(
    check.failures[0],
    /^archive password \(raw\) in the stderr of `backup verify \/nonexistent\/<archive password>/,
  );
});
