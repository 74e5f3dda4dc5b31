/**
 * The PATH arguments of `./dev test`: each a test file, or a folder standing for every `*_test.ts`
 * under it, so that a run can be narrowed to one area. A path that does not exist, or a folder without
 * a test, is an error naming it: an empty run would end `tests: 0 passed, 1 failed` without saying why.
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** Every `*_test.ts` under `dir`, sorted. */
function testFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFilesUnder(path));
    else if (e.isFile() && e.name.endsWith("_test.ts")) out.push(path);
  }
  return out.sort();
}

/**
 * The test files `paths` (relative to `cwd`) stand for, as absolute paths in the order given, each
 * once. Throws an Error whose message names the first path that does not exist or holds no test.
 */
export function testFilesOf(paths: string[], cwd: string): string[] {
  const files = new Set<string>();
  for (const p of paths) {
    const abs = resolve(cwd, p);
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) throw new Error(`${p}: no such file or directory`);
    const found = st.isDirectory() ? testFilesUnder(abs) : [abs];
    if (found.length === 0) throw new Error(`${p}: no *_test.ts under this folder`);
    for (const f of found) files.add(f);
  }
  return [...files];
}
