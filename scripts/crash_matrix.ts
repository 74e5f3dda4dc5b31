/**
 * The crash matrix (docs/crash-matrix.md): every operation that writes something durable is SIGKILLed
 * at points spread over its run, by time and by count of state-changing system calls; after each kill
 * the previous output must be intact or the new one complete, the source database healthy and
 * unlocked, the re-run must succeed and leave no temporary file.
 *
 * Without options, 3 kills per operation: what the suite samples. Needs strace (kills by operation
 * count). Exits 1 when any kill shows a problem. Options: `--help` (CRASH_MATRIX below).
 */
import process from "node:process";
import { killOnce, type KillOutcome, killPoints, measure } from "../tests/crash/crash_harness.ts";
import { crashScenarios } from "../tests/crash/crash_scenarios.ts";
import { type DevScript, parseDevArgs, usageError } from "./dev_args.ts";

const CRASH_MATRIX: DevScript = {
  name: "crash_matrix",
  help: "deno run -A scripts/crash_matrix.ts --help",
  usage: `Usage: deno run -A scripts/crash_matrix.ts [--full] [--kills N] [--only OPERATION]…

SIGKILLs each operation that writes something durable at points spread over its run (by time and by
count of state-changing system calls) and checks what each kill left (docs/crash-matrix.md). Needs
strace. Exits 1 when any kill shows a problem. VIGOCLI_BIN=… runs a compiled executable instead.

Options:
  --full            32 kills per operation and larger data (also VIGO_LONG_TESTS=1)
  --kills N         kills per operation (default 3, 32 with --full)
  --only OPERATION  only this operation; repeat for more (${crashScenarios(1).map((s) => s.name).join(", ")})

Examples:
  deno run -A scripts/crash_matrix.ts
  deno run -A scripts/crash_matrix.ts --full
  deno run -A scripts/crash_matrix.ts --kills 10 --only restore --only "replica restore"`,
};

const { values } = parseDevArgs(CRASH_MATRIX, {
  options: {
    full: { type: "boolean", default: false },
    kills: { type: "string" },
    only: { type: "string", multiple: true },
  },
});
const full = values.full || Deno.env.get("VIGO_LONG_TESTS") === "1";
const kills = Number(values.kills ?? (full ? 32 : 3));
if (!Number.isInteger(kills) || kills < 1) {
  usageError(CRASH_MATRIX, `--kills must be a positive integer, got ${values.kills}`);
}
const known = crashScenarios(full ? 4 : 1);
const unknown = (values.only ?? []).filter((name) => !known.some((s) => s.name === name));
if (unknown.length > 0) {
  usageError(
    CRASH_MATRIX,
    `--only: no operation ${unknown.join(", ")} (operations: ${known.map((s) => s.name).join(", ")})`,
  );
}
const scenarios = known.filter((s) => !values.only?.length || values.only.includes(s.name));

const all: KillOutcome[] = [];
for (const s of scenarios) {
  const m = await measure(s);
  console.log(`# ${s.name}: clean run ${m.ms.toFixed(0)} ms, ${m.ops} state-changing system calls`);
  for (const p of killPoints(kills, m)) {
    const o = await killOnce(s, p);
    all.push(o);
    const where = p.kind === "time" ? `${p.at} ms` : `op ${p.at}/${m.ops}`;
    const verdict = o.problems.length || o.state.startsWith("DAMAGED") ? "FAIL" : "ok";
    console.log(
      `${s.name.padEnd(22)} ${where.padEnd(14)} ${o.killed ? "killed  " : "finished"} ${
        o.state.padEnd(36)
      } ${verdict}` +
        (o.problems.length ? `  ${o.problems.join("; ")}` : ""),
    );
  }
}

console.log("\noperation              kills  killed  left old  left new  rolled back  failures");
for (const s of scenarios) {
  const os = all.filter((o) => o.scenario === s.name);
  const n = (f: (o: KillOutcome) => boolean) => String(os.filter(f).length).padStart(8);
  console.log(
    `${s.name.padEnd(22)} ${String(os.length).padStart(5)} ${n((o) => o.killed)} ${
      n((o) => o.state === "old")
    }  ${n((o) => o.state.startsWith("new"))}  ${n((o) => o.state.includes("rolled back")).padStart(11)}  ${
      n((o) => o.problems.length > 0 || o.state.startsWith("DAMAGED"))
    }`,
  );
}
process.exit(all.some((o) => o.problems.length || o.state.startsWith("DAMAGED")) ? 1 : 0);
