/**
 * Build facts baked into a compiled executable. `scripts/compile.ts` supplies them at build time
 * (Bun: `--define VIGOCLI_BUILD_INFO=…`; Deno: a staged copy of this file with the facts written in),
 * so the working tree never changes during a build. Run from sources, the facts say so.
 */

/** What `vigocli --version` reports about how the running program was built. */
export interface BuildInfo {
  /** Full git commit the executable was built from, with `-dirty` when tracked files had changes. */
  commit: string;
  /** Build date in UTC ISO 8601: the commit date (or SOURCE_DATE_EPOCH), so rebuilds are identical. */
  date: string;
  /** Compiler and its version, e.g. `bun 1.4.5 (bun build --compile)`. */
  compiler: string;
  /** Target the executable was built for, e.g. `x86_64-linux`; `sources` when not compiled. */
  target: string;
}

// Replaced by the bundler when compiling; `typeof` keeps an undeclared global safe from sources.
declare const VIGOCLI_BUILD_INFO: BuildInfo | undefined;

const FROM_SOURCES: BuildInfo = {
  commit: "unknown (running from sources)",
  date: "unbuilt",
  compiler: "none (running from sources)",
  target: "sources",
};

/** Build facts of the running program. */
export const BUILD_INFO: BuildInfo = typeof VIGOCLI_BUILD_INFO === "undefined"
  ? FROM_SOURCES
  : VIGOCLI_BUILD_INFO;
