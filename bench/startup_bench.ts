/**
 * Start-up time and size of the shipped executables: `vigocli --version` (which opens node:sqlite to
 * report its version) against the tools an operator would otherwise run on the same host —
 * `sqlite3 --version`, `restic version`, `litestream version` — and against running from sources.
 * Uses hyperfine when installed, else timed repeated runs.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchContext, BenchRow } from "./bench_lib.ts";
import { compile, runnerFor, TARGETS } from "../scripts/compile.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));

/** Mean wall time of `cmd` in seconds over `runs` runs (after one warm-up). */
async function meanSeconds(cmd: string[], runs: number): Promise<number> {
  if (existsSync("/usr/bin/hyperfine")) {
    const json = join(await Deno.makeTempDir(), "h.json");
    const quoted = cmd.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
    const out = await new Deno.Command("hyperfine", {
      args: ["-N", "--warmup", "1", "--runs", String(runs), "--export-json", json, quoted],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`hyperfine ${quoted}: ${new TextDecoder().decode(out.stderr)}`);
    const mean = JSON.parse(await Deno.readTextFile(json)).results[0].mean as number;
    await Deno.remove(json);
    return mean;
  }
  let total = 0;
  for (let i = 0; i <= runs; i++) {
    const start = performance.now();
    const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "null" }).output();
    if (!r.success) throw new Error(`${cmd.join(" ")} failed`);
    if (i > 0) total += performance.now() - start; // the first run warms the page cache
  }
  return total / runs / 1000;
}

/** The shipped files to measure: dist/ when built, else a fresh build in the scratch directory. */
async function executables(ctx: BenchContext): Promise<Record<string, string>> {
  const dist = join(REPO, "dist");
  if (TARGETS.every((t) => existsSync(join(dist, t.file)))) {
    return Object.fromEntries(TARGETS.map((t) => [t.arch, join(dist, t.file)]));
  }
  const result = await compile({
    outdir: join(ctx.workDir, "dist"),
    targets: TARGETS,
    compiler: "auto",
    log: () => {},
  });
  return Object.fromEntries(result.files.map((f) => [f.target.arch, f.path]));
}

/** Start-up and size rows. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const runs = Math.max(5, Math.round(40 * ctx.scale));
  const exes = await executables(ctx);
  const rows: BenchRow[] = [];
  const ms = async (cmd: string[], n = runs) => (await meanSeconds(cmd, n)) * 1000;

  const ours = await ms([exes.x86_64, "--version"]);
  const peers: [string, string[]][] = [
    ["sqlite3 --version", ["/usr/bin/sqlite3", "--version"]],
    ["restic version", ["/usr/bin/restic", "version"]],
    ["litestream version", [join(REPO, ".tools/node_modules/.bin/litestream"), "version"]],
  ];
  for (const [peerName, cmd] of peers) {
    if (!existsSync(cmd[0])) continue;
    rows.push({
      name: "start-up, --version (x86_64 executable)",
      ours,
      peer: await ms(cmd),
      peerName,
      unit: "ms",
    });
  }
  rows.push({
    name: "start-up, --version: executable vs from sources",
    ours,
    peer: await ms([Deno.execPath(), "run", "-A", "--quiet", join(REPO, "main.ts"), "--version"]),
    peerName: "deno run main.ts",
    unit: "ms",
    target: "≤ 1.0×",
  });
  rows[rows.length - 1].met = rows[rows.length - 1].ours <= rows[rows.length - 1].peer!;
  const qemu = runnerFor(TARGETS[1]);
  if (qemu?.length) {
    rows.push({
      name: "start-up, --version (aarch64 under qemu-user)",
      ours: await ms([...qemu, exes.aarch64, "--version"], Math.max(3, Math.round(runs / 4))),
      peer: ours,
      peerName: "x86_64 native",
      unit: "ms",
    });
  }
  const restic = existsSync("/usr/bin/restic")
    ? (await Deno.stat("/usr/bin/restic")).size / 2 ** 20
    : undefined;
  for (const t of TARGETS) {
    rows.push({
      name: `size, ${t.file}`,
      ours: (await Deno.stat(exes[t.arch])).size / 2 ** 20,
      peer: restic,
      peerName: restic ? "restic (Go, Debian)" : undefined,
      unit: "MiB",
    });
  }
  return rows;
}
