/**
 * The layer check: which part of lib/ may import which. Run by `./dev check` and by the test suite
 * (tests/layers/check_layers_test.ts). The rules:
 *
 * - only lib/cli/ imports lib/cli/: the library never prompts or prints for a terminal;
 * - a backend folder (lib/backend/<name>/ with a mod.ts descriptor) imports no other backend folder;
 * - the generic layer (lib/backend/*.ts) and folders shared by backends (lib/backend/<name>/ without
 *   a mod.ts, e.g. s3_api) import no backend folder: only the registry (lib/backends.ts) knows them;
 * - lib/codec/ imports nothing of ours outside lib/codec/ (npm and node: modules are fine).
 *
 * Imports are read from the source text (static, `export … from`, dynamic `import("…")`, type-only
 * alike); only relative specifiers name our files.
 *
 * Exits 8 when a rule is broken. Options: `--help` (CHECK_LAYERS below).
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, posix, relative } from "node:path";
import process from "node:process";
import { type DevScript, parseDevArgs } from "./dev_args.ts";

/** One import that breaks a rule. */
export interface LayerViolation {
  /** The importing file, relative to the repository root (`lib/…`). */
  file: string;
  /** The imported file, relative to the repository root. */
  imports: string;
  /** The rule, in words. */
  rule: string;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\1/g;

/** The relative import specifiers of `source`, resolved against `file` (both `/`-separated). */
export function importsOf(file: string, source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(SPECIFIER)) {
    if (m[2].startsWith(".")) out.push(posix.normalize(posix.join(posix.dirname(file), m[2])));
  }
  return out;
}

/** The folder directly under lib/backend/ that `path` lies in, or undefined. */
function backendFolderOf(path: string): string | undefined {
  const m = /^lib\/backend\/([^/]+)\//.exec(path);
  return m ? m[1] : undefined;
}

/**
 * Every violation in `files` (repository-relative path → source text, lib/ files only matter).
 * Backend folders are the lib/backend/ subfolders that hold a mod.ts.
 */
export function layerViolations(files: ReadonlyMap<string, string>): LayerViolation[] {
  const backends = new Set<string>();
  for (const path of files.keys()) {
    const m = /^lib\/backend\/([^/]+)\/mod\.ts$/.exec(path);
    if (m) backends.add(m[1]);
  }
  const out: LayerViolation[] = [];
  for (const [file, source] of files) {
    if (!file.startsWith("lib/")) continue;
    const own = backendFolderOf(file);
    for (const target of importsOf(file, source)) {
      const add = (rule: string) => out.push({ file, imports: target, rule });
      if (target.startsWith("lib/cli/") && !file.startsWith("lib/cli/")) {
        add("only lib/cli imports lib/cli");
      }
      const other = backendFolderOf(target);
      if (other !== undefined && backends.has(other) && other !== own && file.startsWith("lib/backend/")) {
        add(
          own !== undefined && backends.has(own)
            ? "a backend imports no sibling backend"
            : "the generic backend layer imports no concrete backend (only lib/backends.ts does)",
        );
      }
      if (file.startsWith("lib/codec/") && !target.startsWith("lib/codec/")) {
        add("lib/codec imports nothing of ours outside lib/codec");
      }
    }
  }
  return out;
}

/** The .ts files under `dir`, as `/`-separated paths relative to `root`. */
async function sources(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = posix.join(dir, e.name);
    if (e.isDirectory()) out.push(...await sources(root, path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Reads lib/ under `root` and checks it. */
export async function checkLayers(root: string): Promise<LayerViolation[]> {
  const files = new Map<string, string>();
  for (const path of await sources(root, "lib")) files.set(path, await readFile(join(root, path), "utf8"));
  return layerViolations(files);
}

const CHECK_LAYERS: DevScript = {
  name: "check_layers",
  help: "deno run --allow-read scripts/check_layers.ts --help",
  usage: `Usage: deno run --allow-read scripts/check_layers.ts [--root DIR]

Checks which part of lib/ imports which (the rules are at the top of scripts/check_layers.ts). Prints
each import that breaks a rule and exits 8 when there is one. Part of ./dev check.

Options:
  --root DIR  the repository to check (default: this one)

Examples:
  deno run --allow-read scripts/check_layers.ts
  deno run --allow-read scripts/check_layers.ts --root ../other-checkout`,
};

if (import.meta.main) {
  const { values } = parseDevArgs(CHECK_LAYERS, { options: { root: { type: "string" } } });
  const root = values.root ?? join(dirname(new URL(import.meta.url).pathname), "..");
  const found = await checkLayers(root);
  for (const v of found) console.error(`${v.file}: imports ${v.imports}: ${v.rule}`);
  if (found.length > 0) {
    console.error(
      `check_layers: ${found.length} import(s) break the layering of ${relative(".", root) || "."}/lib`,
    );
    process.exit(8);
  }
  console.error("check_layers: lib/ layering ok");
}
