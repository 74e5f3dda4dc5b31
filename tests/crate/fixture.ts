/** Test fixtures for the crate CLI tests: temp trees, crate files, running `crate run` at a fake time. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type CliResult, runCli } from "../helpers/cli.ts";

/** A scratch directory removed by `cleanup`. */
export interface Scratch {
  dir: string;
  cleanup(): void;
}

/** Makes a scratch directory under `base` (default the system temp dir). */
export function scratch(base = tmpdir()): Scratch {
  const dir = mkdtempSync(join(base, "crate-cli-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `files` (relative path → content) under `root`. */
export function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

/** Writes a one-resource `type: backup` crate; `extra` adds YAML lines to the resource. */
export function backupCrate(path: string, source: string, target: string, extra: string[] = []): string {
  const lines = [
    "name: test",
    "resources:",
    "  - name: files",
    "    type: backup",
    `    source_dir: ${JSON.stringify(source)}`,
    `    target_path: ${JSON.stringify(target)}`,
    ...(extra.some((l) => l.startsWith("min_free_space")) ? [] : ["    min_free_space: 1M"]),
    ...extra.map((l) => `    ${l}`),
  ];
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** `vigocli crate run CRATE ARGS…` with VIGO_NOW=`now`. */
export function crateRun(crate: string, now: string, args: string[] = []): Promise<CliResult> {
  return runCli(["crate", "run", crate, ...args], { env: { VIGO_NOW: now } });
}

/** Snapshot directory names under `target`, sorted. */
export function snapshots(target: string): string[] {
  try {
    return readdirSync(target).filter((n) => /^\d{4}\.\d{3}\.\d{2}\.\d{2}$/.test(n)).sort();
  } catch {
    return [];
  }
}

/** Inode number of `path`. */
export function ino(path: string): number {
  return statSync(path).ino;
}

/** Asserts-friendly summary of a failed run. */
export function show(r: CliResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}
