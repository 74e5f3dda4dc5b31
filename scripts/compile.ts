/**
 * `deno task compile`: builds the self-contained executables `dist/vigocli-x86_64-linux` and
 * `dist/vigocli-aarch64-linux` plus `dist/SHA256SUMS`.
 *
 * Compiler choice: `deno compile` needs its runtime (denort) for each target, which it downloads from a
 * host these machines cannot reach; it is used when `DENORT_BIN` (host arch) / `DENORT_BIN_<ARCH>` name one
 * or a quick download probe succeeds. Otherwise Bun (`bun build --compile`), whose per-target runtimes come
 * from the npm registry. Build facts (commit, commit date, compiler) are baked in without touching the
 * working tree: Bun gets them through `--define`, Deno through a staged copy of the sources.
 *
 * Options: `./dev compile --help` (COMPILE below).
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { chmod, cp, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BuildInfo } from "../lib/build_info.ts";
import { readElfNeeds } from "./elf_info.ts";
import { type DevScript, parseDevArgs, usageError } from "./dev_args.ts";

/** Repository root. */
export const REPO = fileURLToPath(new URL("../", import.meta.url));

/** One shipped executable. */
export interface Target {
  /** Architecture as operators name it. */
  arch: "x86_64" | "aarch64";
  /** File name under the output directory (also baked into a Bun executable, so it is fixed). */
  file: string;
  /**
   * Bun target. x86_64 uses the `baseline` runtime (x86-64-v2, Nehalem 2008+): the default one needs
   * AVX2, which old recovery hosts lack, and measured no slower for our start-up.
   */
  bun: string;
  /** Deno target triple. */
  deno: string;
}

/** Every target we ship. */
export const TARGETS: readonly Target[] = [
  {
    arch: "x86_64",
    file: "vigocli-x86_64-linux",
    bun: "bun-linux-x64-baseline",
    deno: "x86_64-unknown-linux-gnu",
  },
  {
    arch: "aarch64",
    file: "vigocli-aarch64-linux",
    bun: "bun-linux-arm64",
    deno: "aarch64-unknown-linux-gnu",
  },
];

/** The compilers this script drives. */
export type CompilerName = "bun" | "deno";

/** Options of {@link compile}. */
export interface CompileOptions {
  outdir: string;
  targets: readonly Target[];
  compiler: CompilerName | "auto";
  /** Progress lines go here (stderr by default). */
  log?: (line: string) => void;
}

/** What one build produced. */
export interface CompileResult {
  compiler: CompilerName;
  why: string;
  files: { target: Target; path: string; bytes: number; sha256: string; info: BuildInfo }[];
}

const TOOLS_BIN = join(REPO, ".tools/node_modules/.bin");

/** Path of a tool from `.tools/` (falls back to PATH when `.tools` is not installed). */
export function toolPath(name: string): string {
  try {
    Deno.statSync(join(TOOLS_BIN, name));
    return join(TOOLS_BIN, name);
  } catch {
    return name;
  }
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd ?? REPO,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined,
  }).output();
  const dec = new TextDecoder();
  return { ok: out.success, stdout: dec.decode(out.stdout).trim(), stderr: dec.decode(out.stderr).trim() };
}

async function runOrThrow(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
) {
  const r = await run(cmd, args, opts);
  if (!r.ok) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * Commit and build date. The date is the commit date (or `SOURCE_DATE_EPOCH` when set), never the clock,
 * so two builds of one commit are byte-identical. A tree with changes to tracked files gets `-dirty`.
 */
export async function sourceFacts(): Promise<{ commit: string; date: string }> {
  const git = (args: string[]) => run("git", args).catch(() => ({ ok: false, stdout: "", stderr: "no git" }));
  const head = await git(["rev-parse", "HEAD"]);
  const epochEnv = Deno.env.get("SOURCE_DATE_EPOCH");
  const epoch = epochEnv ?? (await git(["log", "-1", "--format=%ct"])).stdout;
  const date = /^\d+$/.test(epoch ?? "")
    ? new Date(Number(epoch) * 1000).toISOString().replace(".000Z", "Z")
    : "unknown";
  if (!head.ok) return { commit: "unknown (not a git checkout)", date };
  const dirty = (await git(["status", "--porcelain", "--untracked-files=no"])).stdout !== "";
  return { commit: dirty ? `${head.stdout}-dirty` : head.stdout, date };
}

/** Fails with a clear message when node_modules is missing or does not match deno.json's pinned versions. */
export async function checkNodeModules(): Promise<void> {
  const config = JSON.parse(await readFile(join(REPO, "deno.json"), "utf8")) as {
    imports?: Record<string, string>;
  };
  for (const spec of Object.values(config.imports ?? {})) {
    const m = /^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)$/.exec(spec);
    if (!m) continue;
    const [, name, version] = m;
    let found = "missing";
    try {
      found = JSON.parse(await readFile(join(REPO, "node_modules", name, "package.json"), "utf8")).version;
    } catch { /* reported below */ }
    if (found !== version) {
      throw new Error(
        `node_modules/${name} is ${found}, deno.json pins ${version}: run \`deno install\` first`,
      );
    }
  }
}

/** Environment variable naming a denort binary for `t` (`DENORT_BIN` counts for the host architecture). */
function denortFor(t: Target): string | undefined {
  const own = Deno.env.get(`DENORT_BIN_${t.arch.toUpperCase()}`);
  if (own) return own;
  const host = Deno.build.arch === "x86_64" ? "x86_64" : "aarch64";
  return t.arch === host ? Deno.env.get("DENORT_BIN") : undefined;
}

/** True when `deno compile` can get its runtime for `t` within a few seconds (it hangs nowhere). */
async function denoCanCompile(t: Target, scratch: string): Promise<boolean> {
  if (denortFor(t)) return true;
  const entry = join(scratch, "probe.ts");
  await writeFile(entry, "console.log(1);\n");
  try {
    const r = await run(toolPath("deno"), [
      "compile",
      "--quiet",
      "--target",
      t.deno,
      "-o",
      join(scratch, "probe"),
      entry,
    ], {
      timeoutMs: 20_000,
    });
    return r.ok;
  } catch {
    return false;
  }
}

/** Picks the compiler for the whole build (one compiler for every target, so the files match). */
async function chooseCompiler(
  opts: CompileOptions,
  scratch: string,
): Promise<{ compiler: CompilerName; why: string }> {
  if (opts.compiler !== "auto") return { compiler: opts.compiler, why: "requested with --compiler" };
  const missing: string[] = [];
  for (const t of opts.targets) if (!(await denoCanCompile(t, scratch))) missing.push(t.arch);
  if (missing.length === 0) {
    return { compiler: "deno", why: "deno compile runtime available for every target" };
  }
  return {
    compiler: "bun",
    why: `no deno compile runtime for ${
      missing.join(", ")
    } (set DENORT_BIN / DENORT_BIN_<ARCH>, download failed)`,
  };
}

/**
 * `bun build --compile` of `entry` (relative to the repository) for `t`, with the shipped flags: through
 * Bun's build API (scripts/bun_build.ts), which takes the plugin the command line cannot.
 */
export async function bunBuild(t: Target, out: string, info: BuildInfo, entry = "main.ts"): Promise<void> {
  await runOrThrow(toolPath("bun"), [
    "scripts/bun_build.ts",
    JSON.stringify({ entry, outfile: out, target: t.bun, info }),
  ]);
}

async function denoBuild(t: Target, out: string, info: BuildInfo, scratch: string): Promise<void> {
  const stage = join(scratch, "stage");
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  await cp(join(REPO, "main.ts"), join(stage, "main.ts"));
  await cp(join(REPO, "lib"), join(stage, "lib"), { recursive: true });
  const source = await readFile(join(REPO, "lib/build_info.ts"), "utf8");
  const baked = `const VIGOCLI_BUILD_INFO: BuildInfo | undefined = ${JSON.stringify(info)};`;
  const staged = source.replace(/^declare const VIGOCLI_BUILD_INFO.*$/m, baked);
  if (staged === source) {
    throw new Error("lib/build_info.ts: no `declare const VIGOCLI_BUILD_INFO` line to replace");
  }
  await writeFile(join(stage, "lib/build_info.ts"), staged);
  const denort = denortFor(t);
  await runOrThrow(toolPath("deno"), [
    "compile",
    "--quiet",
    "-A",
    "--no-check",
    `--config=${join(REPO, "deno.json")}`,
    `--target=${t.deno}`,
    `--output=${out}`,
    join(stage, "main.ts"),
  ], { env: denort ? { DENORT_BIN: denort } : undefined });
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}

/** How to start an executable for `t` on this host: directly, or under qemu-user; undefined when neither. */
export function runnerFor(t: Target): string[] | undefined {
  const host = Deno.build.arch === "x86_64" ? "x86_64" : "aarch64";
  if (t.arch === host) return [];
  const qemu = `/usr/bin/qemu-${t.arch}`;
  try {
    Deno.statSync(qemu);
  } catch {
    return undefined;
  }
  return [qemu, "-L", `/usr/${t.arch}-linux-gnu`];
}

/** Runs the fresh executable's `--version`: a runtime that cannot start fails the build, not the user. */
async function smokeTest(t: Target, path: string, info: BuildInfo): Promise<string> {
  const runner = runnerFor(t);
  if (!runner) return "not started (no qemu-user for this architecture)";
  const [cmd, ...pre] = [...runner, path];
  const r = await run(cmd, [...pre, "--version"], { cwd: "/", timeoutMs: 60_000 });
  if (!r.ok || !r.stdout.includes(info.commit)) {
    throw new Error(`${t.file} does not start:\n${r.stdout}\n${r.stderr}`);
  }
  return runner.length ? "starts under qemu-user" : "starts";
}

/** Compiler name and version, e.g. `bun 1.4.5`. */
async function compilerVersion(c: CompilerName): Promise<string> {
  if (c === "bun") return `bun ${await runOrThrow(toolPath("bun"), ["--version"])}`;
  return `deno ${(await runOrThrow(toolPath("deno"), ["--version"])).split(/\s+/)[1]}`;
}

/** Builds every requested target into `opts.outdir` and writes `SHA256SUMS` there. */
export async function compile(opts: CompileOptions): Promise<CompileResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const outdir = resolve(opts.outdir);
  const scratch = join(outdir, ".partial");
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await checkNodeModules();
    const { compiler, why } = await chooseCompiler(opts, scratch);
    const version = await compilerVersion(compiler);
    log(`compile: using ${version} — ${why}`);
    const { commit, date } = await sourceFacts();
    const files: CompileResult["files"] = [];
    for (const t of opts.targets) {
      const how = compiler === "bun"
        ? `bun build --compile --splitting --minify, ${t.bun}`
        : `deno compile, ${t.deno}`;
      const info: BuildInfo = { commit, date, compiler: `${version} (${how})`, target: `${t.arch}-linux` };
      // built under its final name: Bun bakes the output file name into the executable
      const partial = join(scratch, t.file);
      const started = performance.now();
      if (compiler === "bun") await bunBuild(t, partial, info);
      else await denoBuild(t, partial, info, scratch);
      await chmod(partial, 0o755);
      const smoke = await smokeTest(t, partial, info);
      const path = join(outdir, t.file);
      await rename(partial, path);
      const bytes = (await stat(path)).size;
      const sha256 = await sha256File(path);
      files.push({ target: t, path, bytes, sha256, info });
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      const floor = (await readElfNeeds(path)).glibcFloor;
      log(`compile: ${t.file}  ${(bytes / 2 ** 20).toFixed(1)} MiB  glibc >= ${floor}  sha256 ${sha256}`);
      log(`compile:   built in ${secs} s, ${smoke}`);
    }
    // every shipped file in the directory, also one an earlier `--arch` build left, so the list is whole
    const lines: string[] = [];
    for (const t of TARGETS) {
      const built = files.find((f) => f.target === t);
      const path = join(outdir, t.file);
      if (built) lines.push(`${built.sha256}  ${t.file}\n`);
      else if (existsSync(path)) lines.push(`${await sha256File(path)}  ${t.file}\n`);
    }
    const sums = lines.sort((a, b) => a.slice(66).localeCompare(b.slice(66))).join("");
    await writeFile(join(outdir, "SHA256SUMS.tmp"), sums);
    await rename(join(outdir, "SHA256SUMS.tmp"), join(outdir, "SHA256SUMS"));
    log(`compile: wrote ${join(outdir, "SHA256SUMS")}`);
    return { compiler, why, files };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const COMPILE: DevScript = {
  name: "compile",
  help: "./dev compile --help",
  usage: `Usage: ./dev compile [--outdir DIR] [--arch x86_64|aarch64]… [--compiler auto|bun|deno]

Builds the self-contained executables DIR/vigocli-<arch>-linux and DIR/SHA256SUMS. \`auto\` uses
\`deno compile\` where its runtime (denort) is available (DENORT_BIN, DENORT_BIN_<ARCH>), else Bun.

Options:
  --outdir DIR     where the executables go (default dist/)
  --arch ARCH      only this architecture; repeat for both (default x86_64 and aarch64)
  --compiler NAME  auto, bun or deno (default auto)

Examples:
  ./dev compile
  ./dev compile --arch x86_64 --outdir /tmp/build`,
};

function parseCli(): CompileOptions {
  const { values } = parseDevArgs(COMPILE, {
    options: {
      outdir: { type: "string", default: join(REPO, "dist") },
      arch: { type: "string", multiple: true },
      compiler: { type: "string", default: "auto" },
    },
  });
  const archs = values.arch ?? TARGETS.map((t) => t.arch);
  const targets = archs.map((a) => {
    const t = TARGETS.find((x) => x.arch === a);
    if (!t) usageError(COMPILE, `unknown --arch ${a} (expected ${TARGETS.map((x) => x.arch).join(" or ")})`);
    return t;
  });
  if (!["auto", "bun", "deno"].includes(values.compiler)) {
    usageError(COMPILE, `unknown --compiler ${values.compiler} (expected auto, bun or deno)`);
  }
  return { outdir: values.outdir, targets, compiler: values.compiler as CompileOptions["compiler"] };
}

if (import.meta.main) {
  const options = parseCli();
  try {
    await compile(options);
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
