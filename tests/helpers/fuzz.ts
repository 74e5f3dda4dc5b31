/**
 * Shared pieces of the property-based hostile-input tests (tests/fuzz/): how many runs, the
 * "only a typed error" property, the linear-time check, and the regression vectors under
 * tests/vectors/fuzz/<parser>/ that keep every input fast-check ever found failing.
 *
 * Run counts: a sample by default (the suite's budget is under a minute for all parsers together);
 * `VIGO_FUZZ_RUNS=N` sets N for every property, `VIGO_LONG_TESTS=1` multiplies the defaults by 50.
 * `VIGO_FUZZ_SEED=S` replays one run (fast-check prints the seed and path of a failure).
 */
import type fc from "fast-check";
import assert from "node:assert/strict";
import { VigoError } from "../../lib/errors.ts";
import { REPO_ROOT } from "./cli.ts";

/** Runs per property: `sample` by default, VIGO_FUZZ_RUNS when set, 50 × sample with VIGO_LONG_TESTS=1. */
function fuzzRuns(sample: number): number {
  const explicit = Number(Deno.env.get("VIGO_FUZZ_RUNS"));
  if (explicit > 0) return explicit;
  return Deno.env.get("VIGO_LONG_TESTS") === "1" ? sample * 50 : sample;
}

/** fast-check parameters for `sample` runs (see {@link fuzzRuns}), with a replayable seed when given. */
export function fuzzParams(sample: number): fc.Parameters<unknown> {
  const seed = Number(Deno.env.get("VIGO_FUZZ_SEED"));
  return {
    numRuns: fuzzRuns(sample),
    ...(Number.isInteger(seed) && Deno.env.has("VIGO_FUZZ_SEED") ? { seed } : {}),
  };
}

/**
 * What a parser did with one input: `ok`, or the `kind` of the {@link VigoError} it threw (e.g.
 * `bad_input`), or `internal` for anything else, which the CLI would report as exit 1 (a bug).
 */
export type Outcome = "ok" | string;

/** Runs `f` and classifies the result; `allowed` maps a library's own error classes to a kind. */
async function outcomeOf(
  f: () => unknown,
  allowed: (err: unknown) => string | undefined = () => undefined,
): Promise<{ outcome: Outcome; error?: unknown }> {
  try {
    await f();
    return { outcome: "ok" };
  } catch (err) {
    if (err instanceof VigoError) return { outcome: err.kind, error: err };
    const kind = allowed(err);
    if (kind !== undefined) return { outcome: kind, error: err };
    return { outcome: "internal", error: err };
  }
}

/** Fails (with the stray error as cause) unless `f` returns or throws a typed error. */
export async function assertTyped(
  f: () => unknown,
  allowed?: (err: unknown) => string | undefined,
): Promise<Outcome> {
  const { outcome, error } = await outcomeOf(f, allowed);
  if (outcome === "internal") {
    throw new Error(`untyped error (would exit 1): ${(error as Error)?.stack ?? error}`, { cause: error });
  }
  return outcome;
}

/** One kept failing input: tests/vectors/fuzz/<parser>/<name>.json. */
export interface FuzzVector {
  /** Why the input was kept: what it broke before the fix. */
  description: string;
  /** The input as text (YAML, XML, paths), or… */
  input_text?: string;
  /** …as base64 bytes (tar, LZ4, WAL, envelopes). */
  input_base64?: string;
  /** `ok`, or the VigoError kind (`bad_input`, `config`, `crypto`, …) the parser must end with. */
  expect: Outcome;
}

/** The regression vectors of `parser`, sorted by file name, with the input decoded. */
function fuzzVectors(parser: string): (FuzzVector & { name: string; bytes: Uint8Array })[] {
  const dir = `${REPO_ROOT}tests/vectors/fuzz/${parser}`;
  const out = [];
  for (const e of Deno.readDirSync(dir)) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    const v = JSON.parse(Deno.readTextFileSync(`${dir}/${e.name}`)) as FuzzVector;
    const bytes = v.input_base64 !== undefined
      ? Uint8Array.from(atob(v.input_base64), (c) => c.charCodeAt(0))
      : new TextEncoder().encode(v.input_text ?? "");
    out.push({ ...v, name: e.name, bytes });
  }
  assert(out.length > 0, `no regression vectors in ${dir}`);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Checks every regression vector of `parser` ends as its file says. */
export async function checkVectors(
  parser: string,
  run: (v: FuzzVector & { bytes: Uint8Array }) => unknown,
  allowed?: (err: unknown) => string | undefined,
): Promise<void> {
  for (const v of fuzzVectors(parser)) {
    const { outcome, error } = await outcomeOf(() => run(v), allowed);
    assert.equal(outcome, v.expect, `${parser}/${v.name}: ${v.description}: ${(error as Error)?.message}`);
  }
}

/**
 * Time of `f(input(n))` against `f(input(10 n))`: fails when ten times the input costs more than
 * 25 times the time. Quadratic behaviour shows as ~100×; linear code that allocates per item shows up
 * to ~20× on a busy machine (the larger input leaves the young generation: garbage collection). Each size is timed as the best of three
 * runs, so one pause of a shared machine does not decide the verdict; sizes too small to time are
 * grown first.
 */
export async function assertLinear(
  what: string,
  input: (n: number) => unknown,
  f: (x: unknown) => unknown,
  n0: number,
  /** Largest n to grow to (the large run uses 10 n), for inputs with a size limit of their own. */
  maxN = n0 * 1024,
): Promise<{ n: number; small: number; large: number }> {
  const best = async (x: unknown) => {
    let min = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await f(x);
      min = Math.min(min, performance.now() - t);
    }
    return min;
  };
  const LIMIT = 25;
  let n = n0;
  let small = await best(input(n));
  while (small < 5 && n * 4 <= maxN) {
    n *= 4;
    small = await best(input(n));
  }
  let large = await best(input(n * 10));
  // One more measurement of both before failing: another helper's burst of CPU is not our blowup.
  if (large >= LIMIT * Math.max(small, 1)) {
    small = Math.min(small, await best(input(n)));
    large = Math.min(large, await best(input(n * 10)));
  }
  assert(
    large < LIMIT * Math.max(small, 1),
    `${what}: 10× the input (${n} → ${n * 10}) took ${large.toFixed(1)} ms vs ${small.toFixed(1)} ms`,
  );
  return { n, small, large };
}
