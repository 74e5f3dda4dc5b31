/**
 * The Bun half of `scripts/compile.ts`: run by Bun (`bun scripts/bun_build.ts JSON`), it builds one
 * executable with `Bun.build`, which takes plugins where the `bun build` command line does not. The
 * options are those of `bun build --compile` with the shipped flags, and give the same bytes (measured on
 * a build without the plugin); the one plugin gives ssh2 a stand-in for its poly1305 module
 * (lib/backend/sftp/poly1305_stand_in.ts).
 *
 * JSON: `{ "entry": "main.ts", "outfile": PATH, "target": "bun-linux-x64-baseline", "info": BuildInfo }`.
 */
import process from "node:process";
import { SSH2_POLY1305_PLUGIN } from "../lib/backend/sftp/poly1305_stand_in.ts";

interface BuildRequest {
  entry: string;
  outfile: string;
  target: string;
  info: unknown;
}

interface BunBuild {
  build(opts: Record<string, unknown>): Promise<{ success: boolean; logs: unknown[] }>;
}

const req = JSON.parse(process.argv[2] ?? "") as BuildRequest;
const bun = (globalThis as { Bun?: BunBuild }).Bun;
if (!bun) throw new Error("scripts/bun_build.ts runs under Bun");
const result = await bun.build({
  entrypoints: [req.entry],
  compile: {
    target: req.target,
    outfile: req.outfile,
    // a compiled Bun program would otherwise read .env and bunfig.toml (which can preload code) from cwd
    autoloadDotenv: false,
    autoloadBunfig: false,
    autoloadTsconfig: false,
    autoloadPackageJson: false,
  },
  // esm so main.ts may keep its top-level await. Split chunks so a command parses only the code it
  // imports (`--version` 27 → 11 ms, peak RSS 44 → 27 MB). No bytecode: it adds 5.3 MB (116 vs 110.9 MB
  // with it; target ≤ 112 MB) for ~45 ms less start-up of the larger commands (docs/guide/binaries.md).
  format: "esm",
  splitting: true,
  // the command line's chunk names (its default; the API's is chunk-[hash])
  naming: { chunk: "[name]-[hash].[ext]" },
  // error classes name themselves after their constructor (lib/errors.ts), so names must survive
  minify: { whitespace: true, syntax: true, identifiers: true, keepNames: true },
  // ssh2's optional native helpers: load-guarded by ssh2, so the pure-JS paths are used instead
  external: ["cpu-features", "*.node"],
  define: {
    VIGOCLI_BUILD_INFO: JSON.stringify(req.info),
    // Bun inlines a CommonJS module's __dirname/__filename as the absolute build-time path (ssh2's
    // agent.js uses them), which made builds from different checkouts differ. Pin them to where Bun's
    // embedded file system puts modules; the build host's paths mean nothing at run time.
    __dirname: JSON.stringify("/$bunfs/root"),
    __filename: JSON.stringify("/$bunfs/root/main.js"),
    // what `bun build --compile` sets by itself (its --production, and an executable's entry is main)
    "process.env.NODE_ENV": JSON.stringify("production"),
    "import.meta.main": "true",
  },
  plugins: [SSH2_POLY1305_PLUGIN],
});
if (!result.success) {
  for (const log of result.logs) console.error(String(log));
  process.exit(1);
}
