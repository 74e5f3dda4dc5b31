/** Paths of the real peers the tests talk to. npm-installed ones live under `.tools/`. */
import { REPO_ROOT } from "./cli.ts";

/** A binary installed by `.tools/package.json` (litestream, bun, deno). */
export function npmTool(name: string): string {
  return `${REPO_ROOT}.tools/node_modules/.bin/${name}`;
}

/**
 * Path of the real litestream v0.3.13 Go binary. Not `.bin/litestream`: that is a node wrapper
 * (spawnSync) which always exits 0 and, on SIGTERM, dies leaving the Go process running.
 */
export const LITESTREAM = `${REPO_ROOT}.tools/node_modules/@flydotio/litestream-linux-${
  Deno.build.arch === "aarch64" ? "arm64" : "x64"
}/litestream`;
