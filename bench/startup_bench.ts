/**
 * Start-up time and size of the shipped executables: `vigocli --version` (which opens node:sqlite to
 * report its version) against the tools an operator would otherwise run on the same host —
 * `sqlite3 --version`, `restic version`, `litestream version` — and against running from sources; the
 * executables' size against a Bun-compiled hello world (the runtime's floor). Uses hyperfine when
 * installed, else timed repeated runs.
 */
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
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

/** The executables the area measures, by architecture (one missing is not measured), and their origin. */
export interface Executables {
  files: { x86_64: string; aarch64?: string };
  /** "from --bin", "from dist/" or "built from the working tree": the rows' names say it, as the report's
   * caption names only `--bin`. */
  origin: string;
}

/**
 * With `--bin`, that executable and the `vigocli-aarch64-linux` beside it (when there is one); else
 * dist/ when built, else a fresh build of the working tree in the scratch directory.
 */
export async function executables(ctx: BenchContext): Promise<Executables> {
  const byArch = (dir: string) => ({
    x86_64: join(dir, TARGETS[0].file),
    aarch64: join(dir, TARGETS[1].file),
  });
  if (ctx.vigocli.length === 1) {
    const aarch64 = join(dirname(ctx.vigocli[0]), TARGETS[1].file);
    if (!existsSync(aarch64)) console.error(`bench: startup: aarch64 rows not measured (no ${aarch64})`);
    return {
      files: { x86_64: ctx.vigocli[0], aarch64: existsSync(aarch64) ? aarch64 : undefined },
      origin: "from --bin",
    };
  }
  const dist = join(REPO, "dist");
  if (TARGETS.every((t) => existsSync(join(dist, t.file)))) {
    return { files: byArch(dist), origin: "from dist/" };
  }
  const built = join(ctx.workDir, "dist");
  if (!TARGETS.every((t) => existsSync(join(built, t.file)))) {
    await compile({ outdir: built, targets: TARGETS, compiler: "auto", log: () => {} });
  }
  return { files: byArch(built), origin: "built from the working tree" };
}

/** Start-up and size rows. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const runs = Math.max(5, Math.round(40 * ctx.scale));
  const { files, origin } = await executables(ctx);
  const rows: BenchRow[] = [];
  const ms = async (cmd: string[], n = runs) => (await meanSeconds(cmd, n)) * 1000;

  const ours = await ms([files.x86_64, "--version"]);
  const peers: [string, string[]][] = [
    ["sqlite3 --version", ["/usr/bin/sqlite3", "--version"]],
    ["restic version", ["/usr/bin/restic", "version"]],
    ["litestream version", [join(REPO, ".tools/node_modules/.bin/litestream"), "version"]],
  ];
  for (const [peerName, cmd] of peers) {
    if (!existsSync(cmd[0])) continue;
    rows.push({
      name: `start-up, --version (x86_64 executable ${origin})`,
      ours,
      peer: await ms(cmd),
      peerName,
      unit: "ms",
      ...(peerName === "restic version" ? valueGoal(25, "ms") : {}),
    });
  }
  rows.push({
    name: `start-up, --version: executable ${origin} vs from sources`,
    ours,
    peer: await ms([Deno.execPath(), "run", "-A", "--quiet", join(REPO, "main.ts"), "--version"]),
    peerName: "deno run main.ts",
    unit: "ms",
    target: "≤ 1.0×",
  });
  rows[rows.length - 1].met = rows[rows.length - 1].ours <= rows[rows.length - 1].peer!;
  const qemu = runnerFor(TARGETS[1]);
  if (qemu?.length && files.aarch64) {
    rows.push({
      name: `start-up, --version (aarch64 executable ${origin}, under qemu-user)`,
      ours: await ms([...qemu, files.aarch64, "--version"], Math.max(3, Math.round(runs / 4))),
      peer: ours,
      peerName: "x86_64 native",
      unit: "ms",
    });
  }
  const hello = await helloWorld(ctx);
  for (const t of TARGETS) {
    const file = files[t.arch];
    if (!file) continue;
    rows.push({
      name: `size, ${basename(file)} (${origin})`,
      ours: (await Deno.stat(file)).size / 1e6,
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
