/**
 * `deno task bench [--scale S] [--runs N] [--only AREA] [--bin PATH] [--json-out FILE] [--rss-flat]`:
 * runs every `bench/<area>_bench.ts` side by side with the tools users would otherwise use, N times
 * (default 3), and prints one table of min/median/max, ratios, targets met or missed on the medians,
 * and the machine's load average while each area ran. Scale 1 uses the sizes the issues name (1 GiB
 * databases); the default 0.25 fits a laptop run. `--json-out` writes the same figures as JSON, from
 * which `scripts/bench_table.ts` regenerates README's table.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { type BenchContext, type BenchRow, loadAverage, writeTextAtomic } from "./bench_lib.ts";
import { aggregate, formatTable, type Report, type RunRow } from "./report.ts";

const { values } = parseArgs({
  args: Deno.args,
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
  console.error(`bench: --runs must be a positive integer, got ${values.runs}`);
  Deno.exit(2);
}

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const areas = [...Deno.readDirSync(benchDir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts"))
  .map((n) => n.slice(0, -"_bench.ts".length))
  .filter((a) => !values.only || values.only.split(",").includes(a))
  .sort();

// One scratch directory for all runs: areas generate their inputs once and reuse them in later runs.
const workDir = await Deno.makeTempDir({ prefix: "vigocli-bench-" });
const base = {
  workDir,
  scale: Number(values.scale),
  vigocli: values.bin ? [values.bin] : [Deno.execPath(), "run", "-A", "--quiet", `${repoRoot}main.ts`],
  rssFlat: values["rss-flat"],
};
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");

const rows: RunRow[] = [];
let failures = 0;
try {
  for (const area of areas) {
    const mod = await import(`./${area}_bench.ts`) as { run(ctx: BenchContext): Promise<BenchRow[]> };
    for (let run = 0; run < runs; run++) {
      const loadBefore = loadAverage();
      console.error(`bench: ${area} run ${run + 1}/${runs} (scale ${base.scale}, load ${loadBefore}) …`);
      try {
        const got = await mod.run({ ...base, run });
        const load = Math.max(loadBefore, loadAverage());
        for (const row of got) rows.push({ area, load, ...row });
      } catch (err) {
        failures++;
        console.error(`bench: ${area} failed: ${err instanceof Error ? err.message : err}`);
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
  vigocli: values.bin ?? "deno run main.ts",
  rows: aggregate(rows),
};
if (values["json-out"]) {
  await writeTextAtomic(values["json-out"], JSON.stringify(report, null, 2) + "\n");
}
console.log(values.json ? JSON.stringify(report, null, 2) : formatTable(report.rows));
Deno.exit(failures ? 1 : 0);
