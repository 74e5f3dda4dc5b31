/**
 * Build facts baked into a compiled executable. `scripts/compile.ts` rewrites this file for the
 * duration of a build; from sources it says so.
 */
export const BUILD_INFO = {
  commit: "source",
  date: "unbuilt",
  compiler: "none (running from sources)",
} as const;
