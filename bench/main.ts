/**
 * `deno task bench [--scale S] [--only AREA] [--bin PATH]`: runs every `bench/<area>_bench.ts`
 * side by side with the tools users would otherwise use, and prints one table of ratios.
 * Scale 1 uses the sizes the issues name (1 GiB databases); the default 0.25 fits a laptop run.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { BenchContext, BenchRow } from "./bench_lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    scale: { type: "string", default: "0.25" },
    only: { type: "string" },
    bin: { type: "string" },
    json: { type: "boolean", default: false },
  },
});

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const areas = [...Deno.readDirSync(benchDir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts"))
  .map((n) => n.slice(0, -"_bench.ts".length))
  .filter((a) => !values.only || values.only.split(",").includes(a))
  .sort();

const workDir = await Deno.makeTempDir({ prefix: "vigocli-bench-" });
const ctx: BenchContext = {
  workDir,
  scale: Number(values.scale),
  vigocli: values.bin ? [values.bin] : [Deno.execPath(), "run", "-A", "--quiet", `${repoRoot}main.ts`],
};

const rows: (BenchRow & { area: string })[] = [];
let failures = 0;
try {
  for (const area of areas) {
    console.error(`bench: ${area} (scale ${ctx.scale}) …`);
    const mod = await import(`./${area}_bench.ts`) as { run(ctx: BenchContext): Promise<BenchRow[]> };
    try {
      for (const row of await mod.run(ctx)) rows.push({ area, ...row });
    } catch (err) {
      failures++;
      console.error(`bench: ${area} failed: ${err instanceof Error ? err.message : err}`);
    }
  }
} finally {
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
}

if (values.json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log(formatTable(rows));
}
Deno.exit(failures ? 1 : 0);

function formatTable(list: (BenchRow & { area: string })[]): string {
  const fmt = (n: number | undefined) => n === undefined ? "" : n >= 100 ? n.toFixed(0) : n.toPrecision(3);
  const header = ["area", "measure", "vigocli", "peer", "peer tool", "ratio", "target", "met"];
  const body = list.map((r) => [
    r.area,
    r.name,
    `${fmt(r.ours)} ${r.unit}`,
    r.peer === undefined ? "" : `${fmt(r.peer)} ${r.unit}`,
    r.peerName ?? "",
    r.peer ? `${(r.ours / r.peer).toFixed(2)}×` : "",
    r.target ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "NO",
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row: string[]) => "| " + row.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
