/**
 * Start-up time and size of the shipped executables: `vigocli --version` (which opens node:sqlite to
 * report its version) against the tools an operator would otherwise run on the same host —
 * `sqlite3 --version`, `restic version`, `litestream version` — and against running from sources; the
 * executables' size against a Bun-compiled hello world (the runtime's floor). Uses hyperfine when
 * installed, else timed repeated runs.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchContext, type BenchRow, exists, valueGoal } from "./bench_lib.ts";
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
  const built = join(ctx.workDir, "dist");
  if (TARGETS.every((t) => existsSync(join(built, t.file)))) {
    return Object.fromEntries(TARGETS.map((t) => [t.arch, join(built, t.file)]));
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
      ...(peerName === "restic version" ? valueGoal(25, "ms") : {}),
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
  const hello = await helloWorld(ctx);
  for (const t of TARGETS) {
    rows.push({
      name: `size, ${t.file}`,
      ours: (await Deno.stat(exes[t.arch])).size / 1e6,
      peer: t.arch === "x86_64" ? hello : undefined,
      peerName: t.arch === "x86_64" ? "bun build --compile of a hello world" : undefined,
      unit: "MB",
      ...valueGoal(112, "MB"),
    });
  }
  return rows;
}

/** Size in MB of a Bun-compiled hello world for x86_64, built with the flags our executables use. */
async function helloWorld(ctx: BenchContext): Promise<number> {
  const dir = join(ctx.workDir, "hello");
  const out = join(dir, "hello");
  if (!await exists(out)) {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "hello.ts"), 'console.log("hello");\n');
    const r = await new Deno.Command(join(REPO, ".tools/node_modules/.bin/bun"), {
      args: [
        "build",
        join(dir, "hello.ts"),
        "--compile",
        "--splitting",
        "--minify",
        "--keep-names",
        "--format=esm",
        `--target=${TARGETS[0].bun}`,
        `--outfile=${out}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!r.success) throw new Error(`bun build --compile hello.ts: ${new TextDecoder().decode(r.stderr)}`);
  }
  return (await Deno.stat(out)).size / 1e6;
}
