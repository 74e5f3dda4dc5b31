/**
 * The only module that knows which JavaScript runtime it runs on (Deno from sources or
 * `deno compile`, Bun from `bun build --compile`). Everything else uses web standards and `node:`
 * built-ins, so the same sources run on both.
 */
import process from "node:process";

interface DenoLike {
  args: string[];
  version: { deno: string; v8: string; typescript: string };
}
interface BunLike {
  version: string;
  argv: string[];
}

const g = globalThis as { Deno?: DenoLike; Bun?: BunLike };

/** "deno" or "bun" (or "node" when neither global is present). */
export function runtimeName(): "deno" | "bun" | "node" {
  if (g.Bun) return "bun";
  if (g.Deno) return "deno";
  return "node";
}

/** Runtime name and version, e.g. `deno 2.9.6`. */
export function runtimeVersion(): string {
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/** The user's command-line arguments, without runtime or script path, on every runtime. */
export function cliArgs(): string[] {
  // `deno run main.ts …` and a `deno compile` executable: Deno.args is exactly the user's arguments.
  if (g.Deno && !g.Bun) return [...g.Deno.args];
  // Bun executable: ["bun", "/$bunfs/root/<file>", …]; `bun main.ts …` and Node: [runtime, script, …].
  // A compiled Bun program passes runtime-looking flags (--inspect, -e, --) through untouched
  // (tests/compile/runtime_features_test.ts).
  return process.argv.slice(2);
}
