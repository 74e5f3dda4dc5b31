/**
 * The same lib/ sources run under Deno (from sources) and Bun (the shipped executables), so only
 * lib/runtime.ts may touch the `Deno` global. A stray `Deno.env.get(…)` works in every source test and
 * then throws `ReferenceError: Deno is not defined` in the binaries: caught here, in seconds, by name.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";

function* sourceFiles(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* sourceFiles(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

/** Lines of code that use the Deno global (comments are skipped: they may well name Deno). */
export function denoUses(source: string): number[] {
  const lines: number[] = [];
  source.split("\n").forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "").trim();
    if (code.startsWith("*") || code.startsWith("/*")) return;
    if (/(^|[^\w.$])Deno\s*[.?[]/.test(code) || /globalThis\.Deno\b/.test(code)) lines.push(i + 1);
  });
  return lines;
}

Deno.test("portable sources: no Deno global in lib/ or main.ts outside lib/runtime.ts", () => {
  const offenders: string[] = [];
  const files = [...sourceFiles(join(REPO_ROOT, "lib")), join(REPO_ROOT, "main.ts")];
  for (const file of files) {
    const rel = relative(REPO_ROOT, file);
    if (rel === join("lib", "runtime.ts")) continue;
    for (const line of denoUses(Deno.readTextFileSync(file))) offenders.push(`${rel}:${line}`);
  }
  assert.deepEqual(
    offenders,
    [],
    `use node: built-ins or lib/runtime.ts instead of Deno.* at ${offenders.join(", ")}`,
  );
});

Deno.test("portable sources: the scanner sees real uses and ignores comments", () => {
  assert.deepEqual(denoUses('const a = Deno.env.get("X");\n// Deno.exit(1)\n * Deno.args\nx = myDeno.y;'), [
    1,
  ]);
  assert.deepEqual(denoUses('const v = Deno?.version;\nconst w = Deno["args"];'), [1, 2]);
});
