/**
 * One test phase of `./dev test` (scripts/test.ts): `deno test` in its own process group under a time
 * limit, its output shown live and read for the counts and failed tests, then the secret-leak check of
 * the CLI runs it recorded.
 */
import { REPO, toolPath } from "./compile.ts";
import { checkTranscriptDir, describeLeak } from "../tests/helpers/leak_check.ts";
import { TRANSCRIPT_ENV } from "../tests/helpers/transcript.ts";

// deno colours its output unless NO_COLOR is set (we set it); strip any escape anyway
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Counts of one phase. */
export interface PhaseResult {
  name: string;
  passed: number;
  failed: number;
  ignored: number;
  seconds: number;
  /** Names of failed tests, or why the phase itself failed. */
  failures: string[];
}

/**
 * Reads deno test's closing summary (`ok | 5 passed (2 steps) | 1 failed | 2 ignored (3s)`); counts are
 * top-level tests, as deno prints them. Returns undefined when there is no summary line.
 */
export function parseDenoSummary(
  output: string,
): { passed: number; failed: number; ignored: number } | undefined {
  const lines = output.replace(ANSI, "").split("\n");
  const summary = lines.reverse().find((l) => /^(ok|FAILED) \| \d+ passed/.test(l.trim()));
  if (!summary) return undefined;
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(summary)?.[1] ?? 0);
  return { passed: count("passed"), failed: count("failed"), ignored: count("ignored") };
}

/**
 * Counts the per-test result lines (`name ... ok (1s)`, `... FAILED`, `... ignored`) of a run that was
 * stopped before its summary. Steps are indented and not counted, as in the summary.
 */
export function countResultLines(output: string): { passed: number; failed: number; ignored: number } {
  const lines = output.replace(ANSI, "").split("\n").filter((l) => /^\S.* \.\.\. /.test(l));
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  return {
    passed: count(/ \.\.\. ok( \(|$)/),
    failed: count(/ \.\.\. FAILED( \(|$)/),
    ignored: count(/ \.\.\. ignored( \(|$)/),
  };
}

/** Names of the failed tests listed in deno's `ERRORS`/`FAILURES` section (` name => file:line:col`). */
export function parseDenoFailures(output: string): string[] {
  const plain = output.replace(ANSI, "");
  const headers = [...plain.matchAll(/^ *FAILURES *$/gm)];
  if (headers.length === 0) return [];
  const tail = plain.slice(headers[headers.length - 1].index);
  return tail.split("\n").filter((l) => / => \S+:\d+:\d+$/.test(l)).map((l) => l.trim());
}

/** SIGKILLs every process of the group `pgid`; nothing to do when none is left. */
function killGroup(pgid: number): void {
  try {
    Deno.kill(-pgid, "SIGKILL");
  } catch {
    // the group is already empty
  }
}

/**
 * Runs `deno test` in its own process group (setsid) with output shown live and parsed for counts.
 * At the time limit the whole group is killed, and so is whatever a test leaked (a server, a
 * replicator) once the phase is over, so nothing from one phase runs on into the next.
 */
export async function denoTest(
  name: string,
  args: string[],
  env: Record<string, string>,
  timeoutMin: number,
  echo = true,
): Promise<PhaseResult> {
  const started = performance.now();
  if (echo) console.error(`\ntest: phase ${name}: deno test ${args.join(" ")}`);
  const child = new Deno.Command("setsid", {
    args: [toolPath("deno"), "test", ...args],
    cwd: REPO,
    // AWS_EC2_METADATA_DISABLED: no test may probe the link-local metadata address (see tests/helpers/cli.ts)
    env: { ...env, NO_COLOR: "1", AWS_EC2_METADATA_DISABLED: "true" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutMin * 60_000);
  let output = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      if (echo) await Deno.stdout.write(chunk);
      output += decoder.decode(chunk, { stream: true });
    }
  })();
  const status = await child.status;
  clearTimeout(timer);
  killGroup(child.pid);
  await reading;
  const seconds = (performance.now() - started) / 1000;
  const counts = parseDenoSummary(output) ?? countResultLines(output);
  const failures = parseDenoFailures(output);
  if (timedOut) {
    counts.failed += 1;
    failures.push(`stopped at the phase limit of ${timeoutMin} min (a test hung or the phase is too slow)`);
  } else if (!status.success && counts.failed === 0) {
    counts.failed = 1;
    failures.push(`deno test itself failed (exit ${status.code}) without reporting a failed test`);
  }
  return { name, ...counts, seconds, failures };
}

/**
 * Runs one test phase with a fresh transcript directory (every CLI run's argv and output, see
 * tests/helpers/transcript.ts), then checks those transcripts for the suite's registered secrets:
 * one more test, failed when any secret leaked (tests/helpers/leak_check.ts). Returns both results.
 */
export async function denoTestWithLeakCheck(
  name: string,
  args: string[],
  env: Record<string, string>,
  timeoutMin: number,
  echo = true,
  requireRuns = true,
): Promise<PhaseResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "vigo-transcripts-" });
  try {
    const phase = await denoTest(name, args, { ...env, [TRANSCRIPT_ENV]: dir }, timeoutMin, echo);
    const started = performance.now();
    const { runs, leaks } = checkTranscriptDir(dir);
    // A run of a few files may start no CLI at all: then there is nothing to check.
    if (runs === 0 && !requireRuns) return [phase];
    const check: PhaseResult = {
      name: `${name.split(" ")[0]} (secret leak check)`,
      passed: leaks.length === 0 && runs > 0 ? 1 : 0,
      failed: leaks.length > 0 || runs === 0 ? 1 : 0,
      ignored: 0,
      seconds: (performance.now() - started) / 1000,
      failures: runs === 0
        ? ["no CLI run was recorded: the transcript mechanism is broken"]
        : leaks.map(describeLeak),
    };
    if (echo) console.error(`test: ${check.name}: ${runs} CLI runs checked, ${leaks.length} leaks`);
    return [phase, check];
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
