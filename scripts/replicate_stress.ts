/**
 * Randomised soak of `backup replicate` against real application processes: several writer processes
 * (tests/helpers/sqlite_stress_writer_proc.ts) at 50-2000 tx/s each, running their own
 * PASSIVE/FULL/RESTART/TRUNCATE checkpoints every 10-1000 transactions, long write transactions and
 * idle pauses, a sync_interval of 100 ms-2 s, the replicator SIGTERMed at random moments (and
 * started again) and writers SIGKILLed. After every stop both `backup replica restore` and the real
 * `litestream restore` must pass integrity_check, hold per writer a prefix of its commits (no gaps),
 * and hold every commit that returned before the SIGTERM; after the last stop (writers stopped first)
 * they must equal the database. Generations and their reasons are counted and printed.
 *
 * A round that fails (a lost commit, a malformed restore, an error inside the round, or no end within
 * 5 × --seconds + 60 s: hung, its processes killed) is reported FAILED with its seed and its directory
 * kept, and the soak goes on. Exits 1 when any round fails; each round
 * prints its parameters and its seed (`--seed` replays it).
 */
import { deepStrictEqual } from "node:assert/strict";
import { runCli } from "../tests/helpers/cli.ts";
import {
  type Background,
  background,
  createWriterDb,
  integrityCheck,
  litestreamRestore,
  rowIds,
  sleep,
} from "../tests/helpers/litestream.ts";
import {
  killReplicators,
  makeRoot,
  startReplicate,
  type TestRoot,
} from "../tests/replicate/replicate_env.ts";
import { type DevScript, parseDevArgs, usageError } from "./dev_args.ts";

const STRESS: DevScript = {
  name: "replicate_stress",
  help: "deno run -A scripts/replicate_stress.ts --help",
  usage: `Usage: deno run -A scripts/replicate_stress.ts [--rounds N | --until HH:MM] [--seconds S] [--seed N]

Randomised rounds of real writers, application checkpoints, replicator SIGTERMs and writer SIGKILLs
against \`backup replicate\`, each checked through both restores. A failed round (a lost commit, a
malformed restore, an error inside the round, or still running after 5 × S + 60 s: hung, its
processes killed) prints FAILED, its seed and its kept directory, and the next round runs. Exits 1 when any round failed.
VIGOCLI_BIN=… runs a compiled executable (recommended: a replicator from sources is slow to start).

Options:
  --rounds N      rounds to run (default 3, 30 with VIGO_LONG_TESTS=1)
  --until HH:MM   run rounds until this UTC time instead
  --seconds S     writing time per round (default 20)
  --seed N        seed of the first round (default: random); round k uses seed + k

Examples:
  VIGOCLI_BIN=dist/vigocli-x86_64-linux deno run -A scripts/replicate_stress.ts --until 23:00
  deno run -A scripts/replicate_stress.ts --rounds 1 --seed 1234`,
};

const { values } = parseDevArgs(STRESS, {
  options: {
    rounds: { type: "string" },
    until: { type: "string" },
    seconds: { type: "string", default: "20" },
    seed: { type: "string" },
  },
});
const long = Deno.env.get("VIGO_LONG_TESTS") === "1";
const rounds = Number(values.rounds ?? (long ? 30 : 3));
const seconds = Number(values.seconds);
const firstSeed = Number(values.seed ?? Math.floor(Math.random() * 1e9));
if (!Number.isInteger(rounds) || rounds < 1) usageError(STRESS, `--rounds must be a positive integer`);
if (!(seconds > 0)) usageError(STRESS, `--seconds must be positive`);
let until: number | null = null;
if (values.until) {
  const m = /^(\d\d):(\d\d)$/.exec(values.until);
  if (!m) usageError(STRESS, `--until must be HH:MM (UTC), got ${values.until}`);
  const d = new Date();
  d.setUTCHours(+m[1], +m[2], 0, 0);
  until = d.getTime();
}

/** mulberry32: a small seeded generator, so a round can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface WriterParams {
  w: number;
  txPerSecond: number;
  checkpointEvery: number;
  checkpointMode: string;
  longTxEvery: number;
  longTxMs: number;
  pauseEvery: number;
  pauseMs: number;
}

interface RoundParams {
  seed: number;
  syncInterval: string;
  writers: WriterParams[];
  /** Seconds into the round at which the replicator is SIGTERMed (and started again). */
  stops: number[];
  /** Seconds into the round at which one writer is SIGKILLed (and started again). */
  writerKills: number[];
}

function roundParams(seed: number): RoundParams {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const logUniform = (lo: number, hi: number) => Math.round(Math.exp(Math.log(lo) + r() * Math.log(hi / lo)));
  const writers = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, w) => ({
    w: w + 1,
    txPerSecond: logUniform(50, 2000),
    checkpointEvery: logUniform(10, 1000),
    checkpointMode: pick(["PASSIVE", "FULL", "RESTART", "TRUNCATE", "TRUNCATE"]),
    longTxEvery: logUniform(50, 2000),
    longTxMs: logUniform(50, 1500),
    pauseEvery: logUniform(100, 5000),
    pauseMs: logUniform(100, 3000),
  }));
  const times = (k: number) =>
    Array.from({ length: k }, () => +(1 + r() * (seconds - 2)).toFixed(2)).sort((a, b) => a - b);
  return {
    seed,
    syncInterval: `${logUniform(100, 2000)}ms`,
    writers,
    stops: times(Math.floor(r() * 3)),
    writerKills: times(Math.floor(r() * 3)),
  };
}

type Writer = Background & { params: WriterParams };

function startWriter(db: string, p: WriterParams): Writer {
  const script = new URL("../tests/helpers/sqlite_stress_writer_proc.ts", import.meta.url).pathname;
  return {
    ...background(Deno.execPath(), ["run", "-A", "--quiet", script, db, JSON.stringify(p)]),
    params: p,
  };
}

/** Per writer: the highest n whose commit returned before `beforeMs` (every commit when omitted). */
function committed(outputs: string[], beforeMs = Infinity): Map<number, number> {
  const m = new Map<number, number>();
  for (const out of outputs) {
    for (const x of out.matchAll(/^c (\d+) (\d+) (\d+)$/gm)) {
      if (+x[3] < beforeMs) m.set(+x[1], Math.max(m.get(+x[1]) ?? 0, +x[2]));
    }
  }
  return m;
}

/** What is wrong with the rows of a restored database, or nothing. */
function judge(ids: number[], must: Map<number, number>): string[] {
  const per = new Map<number, number[]>();
  for (const id of ids) {
    const w = Math.floor(id / 100_000_000);
    if (!per.has(w)) per.set(w, []);
    per.get(w)!.push(id % 100_000_000);
  }
  const problems: string[] = [];
  for (const [w, ns] of per) {
    const gap = ns.findIndex((n, i) => n !== i + 1);
    if (gap >= 0) problems.push(`writer ${w}: not a prefix at ${ns[gap]} (expected ${gap + 1})`);
  }
  for (const [w, n] of must) {
    const have = per.get(w)?.length ?? 0;
    if (have < n) {
      problems.push(`writer ${w}: ${have} rows, but ${n} had committed (missing ${have + 1}..${n})`);
    }
  }
  return problems;
}

/** Restores `r`'s replica both ways and judges each; `exact`: must equal these ids. */
async function checkRestores(
  r: TestRoot,
  state: RoundState,
  tag: string,
  must: Map<number, number>,
  exact?: number[],
): Promise<string[]> {
  const problems: string[] = [];
  const ours = `${r.root}/${tag}-ours.db`;
  const ls = `${r.root}/${tag}-ls.db`;
  const o = await runCli(["backup", "replica", "restore", "--url", r.url, "-o", ours]);
  if (o.code !== 0) problems.push(`replica restore exit ${o.code}: ${o.stderr.trim()}`);
  const l = await litestreamRestore({ out: ls, url: r.url, signal: state.abort.signal });
  if (l.code !== 0) problems.push(`litestream restore exit ${l.code}: ${l.stderr.trim()}`);
  for (const [what, db, ok] of [["ours", ours, o.code === 0], ["litestream", ls, l.code === 0]] as const) {
    if (!ok) continue;
    const found: string[] = [];
    const ic = await integrityCheck(db);
    if (ic !== "ok") found.push(`integrity_check ${ic}`);
    try {
      const ids = await rowIds(db);
      found.push(...judge(ids, must));
      if (exact) {
        try {
          deepStrictEqual(ids, exact);
        } catch {
          found.push(`${ids.length} rows, the database ${exact.length}`);
        }
      }
    } catch (err) {
      // A malformed restore cannot be read at all: that is this round's finding, not the harness's end.
      found.push(`unreadable: ${errorLine(err)}`);
    }
    problems.push(...found.map((p) => `${what}: ${p}`));
    // A restore that failed its checks stays beside the replica for inspection.
    if (found.length === 0) await Deno.remove(db);
    else problems.push(`${what}: kept ${db}`);
  }
  return problems.map((p) => `${tag}: ${p}`);
}

/**
 * The reasons of the generations a replicator run started once replicating: one at its start is expected
 * when the application restarted the WAL more than once while no replicator ran.
 */
function generationLines(out: string): string[] {
  const running = out.slice(out.indexOf("replication started"));
  return [...running.matchAll(/msg="new generation".*reason=(".*")/g)].map((m) => m[1]);
}

/** The first line of a thrown value's message. */
function errorLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).trim().split("\n")[0];
}

interface RoundResult {
  problems: string[];
  generations: number;
  lines: string[];
}

/** What a round has running, so that the soak can end a round that hangs from outside it. */
interface RoundState {
  root?: string;
  writers: Writer[];
  /** Aborted when the round ran out of time: it starts nothing more and leaves its cleanup to the soak. */
  abort: AbortController;
}

async function round(p: RoundParams, state: RoundState): Promise<RoundResult> {
  const r = await makeRoot({ syncInterval: p.syncInterval });
  state.root = r.root;
  const problems: string[] = [];
  const genLines: string[] = [];
  const outputs: string[] = [];
  // A round abandoned while one of its steps hung must not start processes into the next round.
  const live = () => state.abort.signal.throwIfAborted();
  const spawn = (w: WriterParams) => (live(), startWriter(r.db, w));
  const restart = () => (live(), startReplicate(r));
  try {
    await createWriterDb(r.db);
    let repl = await restart();
    state.writers = p.writers.map(spawn);
    const writers = state.writers;
    const t0 = Date.now();
    const events = [
      ...p.stops.map((s) => ({ s, kind: "stop" as const })),
      ...p.writerKills.map((s) => ({ s, kind: "kill" as const })),
    ].sort((a, b) => a.s - b.s);
    let k = 0;
    let life = 0;
    for (const e of events) {
      await sleep(Math.max(0, t0 + e.s * 1000 - Date.now()));
      if (e.kind === "kill") {
        const i = k++ % writers.length;
        await writers[i].kill();
        outputs.push(writers[i].output());
        writers[i] = spawn(writers[i].params);
        continue;
      }
      const cut = Date.now();
      const code = await repl.stop("SIGTERM");
      const out = repl.output();
      life++;
      genLines.push(...generationLines(out).map((l) => `run ${life} (${e.s}s): ${l}`));
      await Deno.writeTextFile(`${r.root}/replicate-${life}.log`, out);
      if (code !== 0 || !/replication stopped/.test(out)) {
        problems.push(`stop at ${e.s}s: exit ${code}\n${out.split("\n").slice(-15).join("\n")}`);
      }
      await sleep(30); // the writers' last lines before the cut reach us
      const must = committed([...outputs, ...writers.map((w) => w.output())], cut);
      live();
      problems.push(...await checkRestores(r, state, `stop@${e.s}s`, must));
      repl = await restart();
    }
    await sleep(Math.max(0, t0 + seconds * 1000 - Date.now()));
    for (const w of writers) {
      await w.stop("SIGTERM");
      outputs.push(w.output());
    }
    state.writers = [];
    await sleep(2 * parseInt(p.syncInterval) + 500);
    const code = await repl.stop("SIGTERM");
    life++;
    genLines.push(...generationLines(repl.output()).map((l) => `run ${life} (last): ${l}`));
    await Deno.writeTextFile(`${r.root}/replicate-${life}.log`, repl.output());
    if (code !== 0) {
      problems.push(`final stop: exit ${code}\n${repl.output().split("\n").slice(-15).join("\n")}`);
    }
    const must = committed(outputs);
    live();
    problems.push(...await checkRestores(r, state, "final", must, await rowIds(r.db)));
    const gens = await Array.fromAsync(Deno.readDir(`${r.replicaDir}/generations`));
    return { problems, generations: gens.length, lines: genLines };
  } catch (err) {
    // Whatever broke inside the round fails this round only; the soak goes on with the next seed.
    problems.push(`error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return { problems, generations: 0, lines: genLines };
  } finally {
    if (!state.abort.signal.aborted) {
      for (const w of state.writers) await w.kill();
      await killReplicators();
      if (problems.length === 0 && genLines.length === 0) await Deno.remove(r.root, { recursive: true });
      else console.log(`  kept ${r.root}`);
    }
  }
}

/** How long a round may take before it is called hung: its writing time five times over, plus a minute. */
const roundLimitMs = (5 * seconds + 60) * 1000;

/**
 * Runs one round within {@link roundLimitMs}. A round past it is FAILED as hung: its writers, its
 * replicator and a litestream restore it waits on are killed, and its directory is kept.
 */
async function boundedRound(p: RoundParams): Promise<RoundResult> {
  const state: RoundState = { writers: [], abort: new AbortController() };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((res) => (timer = setTimeout(() => res("hung"), roundLimitMs)));
  const run = round(p, state).catch((err): RoundResult => ({
    // Only setting the round up (its directory) is outside round()'s own catch.
    problems: [`error: ${errorLine(err)}`],
    generations: 0,
    lines: [],
  }));
  const res = await Promise.race([run, hung]);
  clearTimeout(timer);
  if (res !== "hung") return res;
  state.abort.abort();
  for (const w of state.writers) await w.kill();
  await killReplicators();
  if (state.root) console.log(`  kept ${state.root}`);
  return {
    problems: [`hung: not done after ${roundLimitMs / 1000} s; its writers and replicator killed`],
    generations: 0,
    lines: [],
  };
}

let failed = 0;
for (let k = 0; until !== null ? Date.now() < until : k < rounds; k++) {
  const p = roundParams(firstSeed + k);
  const desc =
    `sync ${p.syncInterval}, stops ${JSON.stringify(p.stops)}, writer kills ${
      JSON.stringify(p.writerKills)
    }, ` +
    p.writers.map((w) =>
      `w${w.w} ${w.txPerSecond}/s ${w.checkpointMode}/${w.checkpointEvery} long ${w.longTxMs}ms/${w.longTxEvery} pause ${w.pauseMs}ms/${w.pauseEvery}`
    ).join("; ");
  const res = await boundedRound(p);
  const gens = res.lines;
  console.log(
    `round ${k + 1} seed ${p.seed}: ${
      res.problems.length ? "FAILED" : "ok"
    }, ${res.generations} generation(s)` +
      `${gens.length ? `, ${gens.length} while running (${gens.join(" | ")})` : ""}; ${desc}`,
  );
  for (const x of res.problems) console.log(`  ${x}`);
  if (res.problems.length) failed++;
}
console.log(`replicate_stress: ${failed} failed round(s)`);
Deno.exit(failed ? 1 : 0);
