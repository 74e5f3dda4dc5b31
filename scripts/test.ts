/**
 * `deno task test`: the whole suite, the one command CI runs.
 *
 *   a. `deno check` of main.ts, mod.ts, tests/, scripts/, bench/ (one failure if it fails), then
 *      `deno test -A --no-check tests/` from sources (so one file's type error hides no other result);
 *   b. `scripts/compile.ts`: both executables;
 *   c. every `tests/**\/*_cli_test.ts` again against `dist/vigocli-x86_64-linux`;
 *   d. the CLI tests of AARCH64_CORE (cli_test_files.ts) against `dist/vigocli-aarch64-linux` under
 *      `qemu-aarch64 -L /usr/aarch64-linux-gnu`; all of them with `--aarch64 all` or VIGO_LONG_TESTS=1.
 *
 * After each of a, c and d, one more test: the secret-leak check of every CLI run's output in that
 * phase (tests/helpers/leak_check.ts; the runs are recorded under VIGO_TRANSCRIPT_DIR).
 *
 * Prints each phase's counts, then exactly one line `tests: N passed, N failed` (all phases summed; a
 * phase that cannot run, or exits non-zero without reporting a failed test, counts as one failure) and
 * exits non-zero when anything failed. Missing prerequisites fail loudly; npm-based ones are installed
 * (`npm ci --prefix .tools`, `deno install`) so a fresh clone works.
 *
 * Each test phase has a time limit that keeps the whole run inside CI's 90 minutes (a 25, c 12, d 45 min;
 * `--timeout-min N` sets one limit for all); a phase stopped at its limit keeps the counts it printed and
 * adds one failure.
 *
 * PATH arguments narrow every phase to the test files they name (a folder: every `*_test.ts` under it;
 * phases c and d: the `*_cli_test.ts` among them). Options: `./dev test --help` (TEST below).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkNodeModules, REPO, TARGETS, toolPath } from "./compile.ts";
import { type DevScript, parseDevArgs, usageError } from "./dev_args.ts";
import { testFilesOf } from "./test_paths.ts";
import { AARCH64_CORE, cliTestFiles, phaseFiles } from "./cli_test_files.ts";
import { denoTestWithLeakCheck, type PhaseResult } from "./test_phase_runner.ts";

/** Default time limit per test phase, minutes: the sum stays well inside CI's 90 minutes. */
// d: the executables carry no precompiled bytecode (size target), so every CLI call under qemu parses its
// chunks first (~1.2 s more per `backup create`): measured ~17 s per test on a slow machine; 39 min for
// all of them (`--aarch64 all`, machine shared), 6 min for the core below (idle machine).
const PHASE_LIMIT_MIN = { a: 25, c: 12, d: 45 };

const TEST: DevScript = {
  name: "test",
  help: "./dev test --help",
  usage:
    `Usage: ./dev test [--phases a,b,c,d] [--aarch64 core|all] [--timeout-min N] [PATH…] [-- deno test args…]

Runs the whole suite, or the test files PATH… name (a folder: every *_test.ts under it), and ends with
one line \`tests: N passed, N failed\`. Installs what the tests need first (apt packages as root, the npm
tools in .tools/); exits non-zero when anything failed.

Phases:
  a  deno check, then every test from sources (limit 25 min)
  b  scripts/compile.ts: both executables
  c  the CLI tests against dist/vigocli-x86_64-linux (limit 12 min)
  d  the core CLI tests against dist/vigocli-aarch64-linux under qemu-aarch64 (limit 45 min)

Options:
  --phases a,b,…   only these phases (default a,b,c,d)
  --aarch64 all    phase d runs every CLI test, not only the core (also VIGO_LONG_TESTS=1)
  --timeout-min N  one time limit for every phase, in minutes
  PATH…            only these test files and folders; phases c and d run the *_cli_test.ts among them
                   (phase d: those of its core, unless --aarch64 all) and are skipped, with b, when
                   there are none
  -- ARGS          passed to deno test (e.g. -- --filter restore)

Examples:
  ./dev test
  ./dev test --phases a tests/drill tests/cli/progress_format_test.ts
  ./dev test --phases a -- --filter verify
  VIGO_LONG_TESTS=1 ./dev test`,
};

async function sh(cmd: string, args: string[], what: string): Promise<void> {
  console.error(`test: ${what}: ${cmd} ${args.join(" ")}`);
  const status = await new Deno.Command(cmd, {
    args,
    cwd: REPO,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn().status;
  if (!status.success) throw new Error(`${what} failed (exit ${status.code})`);
}

/** Installs the npm-based prerequisites when missing; returns what is still missing (Debian packages). */
async function prerequisites(): Promise<string[]> {
  if (!existsSync(join(REPO, ".tools/node_modules/.bin/bun"))) {
    await sh("npm", ["ci", "--prefix", ".tools", "--no-audit", "--no-fund"], "installing .tools");
  }
  try {
    await checkNodeModules();
  } catch {
    await sh(toolPath("deno"), ["install"], "installing node_modules");
    await checkNodeModules();
  }
  const missing: string[] = [];
  if (!existsSync(join(REPO, ".tools/node_modules/.bin/bun"))) missing.push("bun (npm ci --prefix .tools)");
  if (!existsSync("/usr/bin/qemu-aarch64")) missing.push("qemu-aarch64 (apt-get install qemu-user)");
  if (!existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1")) {
    missing.push("/usr/aarch64-linux-gnu (apt-get install libc6-arm64-cross)");
  }
  return missing;
}

function blocked(name: string, why: string): PhaseResult {
  return { name, passed: 0, failed: 1, ignored: 0, seconds: 0, failures: [why] };
}

async function main(): Promise<number> {
  const { values, tokens } = parseDevArgs(TEST, {
    options: {
      phases: { type: "string", default: "a,b,c,d" },
      aarch64: { type: "string", default: Deno.env.get("VIGO_LONG_TESTS") === "1" ? "all" : "core" },
      "timeout-min": { type: "string" },
    },
    allowPositionals: true,
    tokens: true,
  });
  const phases = new Set(values.phases.split(","));
  const unknownPhase = [...phases].filter((p) => !"abcd".includes(p) || p.length !== 1);
  if (unknownPhase.length > 0) {
    usageError(TEST, `--phases: no phase ${unknownPhase.join(", ")} (phases: a,b,c,d)`);
  }
  if (values.aarch64 !== "core" && values.aarch64 !== "all") {
    usageError(TEST, `--aarch64 must be core or all, not ${values.aarch64}`);
  }
  const timeoutMin = values["timeout-min"];
  if (timeoutMin !== undefined && !(Number(timeoutMin) > 0)) {
    usageError(TEST, `--timeout-min must be a positive number of minutes, got ${timeoutMin}`);
  }
  const limit = (phase: "a" | "c" | "d") => timeoutMin ? Number(timeoutMin) : PHASE_LIMIT_MIN[phase];
  // Positionals before `--` are paths; those after it go to deno test as they are.
  const end = tokens.find((t) => t.kind === "option-terminator")?.index ?? Infinity;
  const words = tokens.flatMap((t) => t.kind === "positional" ? [t] : []);
  const paths = words.filter((t) => t.index < end).map((t) => t.value);
  const extra = words.filter((t) => t.index > end).map((t) => t.value);
  let selected: string[] | undefined;
  try {
    selected = paths.length > 0 ? testFilesOf(paths, Deno.cwd()) : undefined;
  } catch (err) {
    usageError(TEST, (err as Error).message);
  }
  const results: PhaseResult[] = [];

  const missing = await prerequisites();
  if (missing.length) {
    console.error(`test: MISSING PREREQUISITES (the suite does not skip): ${missing.join("; ")}`);
    results.push(blocked("prerequisites", `missing: ${missing.join("; ")}`));
  }

  if (phases.has("a")) {
    // Type errors are reported once, as their own failure, instead of stopping every test file from
    // running: `deno test` type-checks all files first and runs none when one does not compile.
    const started = performance.now();
    try {
      await sh(
        toolPath("deno"),
        ["check", "--quiet", ...(selected ?? ["main.ts", "mod.ts", "tests/", "scripts/", "bench/"])],
        "type check",
      );
      results.push({ name: "a (type check)", passed: 0, failed: 0, ignored: 0, seconds: 0, failures: [] });
    } catch (err) {
      results.push(blocked("a (type check)", String(err instanceof Error ? err.message : err)));
    }
    results[results.length - 1].seconds = (performance.now() - started) / 1000;
    results.push(
      ...await denoTestWithLeakCheck(
        "a (sources)",
        ["-A", "--no-check", ...extra, ...(selected ?? ["tests/"])],
        {},
        limit("a"),
        true,
        !selected,
      ),
    );
  }

  const cliFiles = {
    c: phaseFiles(cliTestFiles(), selected),
    d: phaseFiles(values.aarch64 === "core" ? AARCH64_CORE : cliTestFiles(), selected),
  };
  const skipped = (["c", "d"] as const).filter((p) => phases.has(p) && selected && cliFiles[p].length === 0);
  for (const p of skipped) {
    console.error(`test: phase ${p}: none of its *_cli_test.ts among the paths; skipped`);
  }
  const cliPhases = (["c", "d"] as const).filter((p) => phases.has(p) && !skipped.includes(p));

  let compiled = false;
  if (phases.has("b") && (!selected || cliPhases.length > 0)) {
    const started = performance.now();
    try {
      await sh(toolPath("deno"), ["run", "-A", "scripts/compile.ts"], "phase b (compile)");
      compiled = true;
      // building is not a test: it adds nothing when it works and one failure when it does not
      results.push({ name: "b (compile)", passed: 0, failed: 0, ignored: 0, seconds: 0, failures: [] });
    } catch (err) {
      results.push(blocked("b (compile)", String(err instanceof Error ? err.message : err)));
    }
    results[results.length - 1].seconds = (performance.now() - started) / 1000;
  } else {
    compiled = TARGETS.every((t) => existsSync(join(REPO, "dist", t.file)));
  }

  for (const phase of cliPhases) {
    const t = phase === "c" ? TARGETS[0] : TARGETS[1];
    const name = `${phase} (${t.file})`;
    if (!compiled) {
      results.push(blocked(name, `no ${t.file}: the compile phase failed or did not run`));
      continue;
    }
    const files = cliFiles[phase];
    if (files.length === 0) {
      results.push(blocked(name, "no *_cli_test.ts files found"));
      continue;
    }
    const env: Record<string, string> = { VIGOCLI_BIN: join(REPO, "dist", t.file) };
    if (t.arch === "aarch64") env.VIGOCLI_RUNNER = "qemu-aarch64 -L /usr/aarch64-linux-gnu";
    results.push(
      ...await denoTestWithLeakCheck(
        name,
        ["-A", "--no-check", ...extra, ...files],
        env,
        limit(phase),
        true,
        !selected,
      ),
    );
  }

  console.log("\nphase                               passed  failed  ignored  seconds");
  for (const r of results) {
    const cells = [r.passed, r.failed, r.ignored].map((n) => String(n).padStart(6)).join("  ");
    console.log(`${r.name.padEnd(34)}  ${cells}   ${r.seconds.toFixed(0).padStart(6)}`);
    for (const f of r.failures) console.log(`    FAILED ${f}`);
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`tests: ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
