/** Paths of the real peers the tests talk to. npm-installed ones live under `.tools/`. */
import { REPO_ROOT } from "./cli.ts";

/** A binary installed by `.tools/package.json` (litestream, bun, deno). */
export function npmTool(name: string): string {
  return `${REPO_ROOT}.tools/node_modules/.bin/${name}`;
}

/** Path of the real litestream v0.3.13 binary. */
export const LITESTREAM = npmTool("litestream");
