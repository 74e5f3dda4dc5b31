/**
 * `./dev bench`: runs every `bench/<area>_bench.ts` N times side by side with the tools users would
 * otherwise use and prints one table of min/median/max, ratios, targets met or missed on the medians,
 * and the machine's load average while each area ran (options in USAGE below). Scale 1 uses the sizes
 * the issues name (1 GiB databases); the default 0.25 fits a laptop run. `--json-out` writes the same
 * figures as JSON, from which `scripts/bench_table.ts` regenerates README's table.
 */
import { fileURLToPath } from "node:url";
import { type BenchContext, type BenchRow, loadAverage, writeTextAtomic } from "./bench_lib.ts";
import { aggregate, formatTable, type Report, type RunRow } from "./report.ts";
import { type DevScript, parseDevArgs, usageError } from "../scripts/dev_args.ts";

const USAGE =
  `Usage: ./dev bench [--scale S] [--runs N] [--only AREA,…] [--bin PATH] [--json] [--json-out FILE]
                   [--rss-flat]

Runs bench/<area>_bench.ts side by side with the tools operators would otherwise use and prints one
table (median and min–max of N runs, ratio ours ÷ peer, target met or missed, load average).

Options:
  --scale S        data sizes relative to the issues' (default 0.25, 0.001–10; 1 = 256 MiB and 1 GiB
                   databases)
  --runs N         runs per area (default 3)
  --only AREA,…    only these areas (AREAS)
  --bin PATH       the compiled executable to measure (default: deno run main.ts)
  --json           print the report as JSON instead of the table
  --json-out FILE  also write the report as JSON (scripts/bench_table.ts regenerates README's table)
  --rss-flat       run the rss area (1 GiB vs 8 GiB, ~25 GiB of scratch) below scale 1 too

Examples:
  ./dev bench --only archive --runs 1
  TMPDIR=/var/tmp ./dev bench --scale 1 --bin dist/vigocli-x86_64-linux --json-out bench/results/run.json
`;

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const known = [...Deno.readDirSync(benchDir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts"))
  .map((n) => n.slice(0, -"_bench.ts".length))
  .sort();

const MIN_SCALE = 0.001;
const MAX_SCALE = 10;

const BENCH: DevScript = {
  name: "bench",
  help: "./dev bench --help",
  usage: USAGE.replace("AREAS", known.join(", ")),
};
const { values } = parseDevArgs(BENCH, {
  options: {
    scale: { type: "string", default: "0.25" },
    runs: { type: "string", default: "3" },
    only: { type: "string" },
    bin: { type: "string" },
    json: { type: "boolean", default: false },
    "json-out": { type: "string" },
    "rss-flat": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  usageError(BENCH, `--runs must be a positive integer, got ${values.runs}`);
}
// Every input has a floor (100 files, 8 MiB, 1000 rows) reached well above 0.001, so a smaller scale is a
// slip rather than a size; above 10 the databases (10 GiB and more) outgrow any scratch space here.
const scale = Number(values.scale);
if (!(scale >= MIN_SCALE && scale <= MAX_SCALE)) {
  usageError(BENCH, `--scale must be a number from ${MIN_SCALE} to ${MAX_SCALE}, got ${values.scale}`);
}
const only = values.only?.split(",");
const unknown = only?.filter((a) => !known.includes(a)) ?? [];
if (unknown.length > 0) {
  usageError(BENCH, `--only: no area ${unknown.join(", ")} (areas: ${known.join(", ")})`);
}
const areas = only ? known.filter((a) => only.includes(a)) : known;

// One scratch directory for all runs: areas generate their inputs once and reuse them in later runs.
const workDir = await Deno.makeTempDir({ prefix: "vigocli-bench-" });
const base = {
  workDir,
  scale,
  vigocli: values.bin ? [values.bin] : [Deno.execPath(), "run", "-A", "--quiet", `${repoRoot}main.ts`],
  rssFlat: values["rss-flat"],
};
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");

const rows: RunRow[] = [];
const completed: Record<string, number> = {};
let failures = 0;
try {
  for (const area of areas) {
    const mod = await import(`./${area}_bench.ts`) as { run(ctx: BenchContext): Promise<BenchRow[]> };
    completed[area] = 0;
    for (let run = 0; run < runs; run++) {
      const loadBefore = loadAverage();
      console.error(`bench: ${area} run ${run + 1}/${runs} (scale ${base.scale}, load ${loadBefore}) …`);
      try {
        const got = await mod.run({ ...base, run });
        const load = Math.max(loadBefore, loadAverage());
        for (const row of got) rows.push({ area, load, ...row });
        completed[area]++;
      } catch (err) {
        failures++;
        console.error(`bench: ${area} failed: ${err instanceof Error ? err.message : err}`);
        console.error(
          `bench: ${area}: ${
            completed[area]
          } of ${runs} runs completed (scripts/bench_table.ts leaves its rows out)`,
        );
        break;
      }
    }
  }
} finally {
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
}

const report: Report = {
  started_at: startedAt,
  scale: base.scale,
  runs,
  runs_completed: completed,
  vigocli: values.bin ?? "deno run main.ts",
  rows: aggregate(rows),
};
if (values["json-out"]) {
  await writeTextAtomic(values["json-out"], JSON.stringify(report, null, 2) + "\n");
}
console.log(values.json ? JSON.stringify(report, null, 2) : formatTable(report.rows));
Deno.exit(failures ? 1 : 0);
