import { DatabaseSync } from "node:sqlite";
import process from "node:process";
import { writeSync } from "node:fs";
import { ExitCode, toVigoError } from "./errors.ts";
import { runtimeVersion } from "./runtime.ts";
import { BUILD_INFO } from "./build_info.ts";

/** Version of vigocli backup. */
export const VERSION = "0.1.0";

/** SQLite version of the built-in `node:sqlite` engine. */
export function sqliteVersion(): string {
  const db = new DatabaseSync(":memory:");
  try {
    return (db.prepare("select sqlite_version() as v").get() as { v: string }).v;
  } finally {
    db.close();
  }
}

/** The machine name of the running architecture as operators know it (`x86_64`, `aarch64`). */
function machineArch(): string {
  const names: Record<string, string> = { x64: "x86_64", arm64: "aarch64" };
  return names[process.arch] ?? process.arch;
}

/** Every fact `--version` reports, as ordered label/value pairs. */
function versionFacts(): [string, string][] {
  const running = `${machineArch()}-${process.platform}`;
  const target = BUILD_INFO.target === "sources" ? `${running} (from sources)` : BUILD_INFO.target;
  return [
    ["version", VERSION],
    ["commit", BUILD_INFO.commit],
    ["built", BUILD_INFO.date],
    ["compiler", BUILD_INFO.compiler],
    ["runtime", runtimeVersion()],
    ["sqlite", sqliteVersion()],
    ["target", target],
    ["arch", running],
  ];
}

/**
 * What `vigocli --version` prints: a `vigocli <version>` first line, then one `label: value` line per
 * fact, so both people and scripts (`grep '^sqlite:'`) can read it.
 */
export function versionReport(): string {
  const [, ...rest] = versionFacts();
  return [`vigocli ${VERSION}`, ...rest.map(([k, v]) => `${`${k}:`.padEnd(10)}${v}`)].join("\n");
}

/**
 * Writes `report` and a newline to standard output (fd 1, synchronously) and returns the exit code:
 * 0, 141 when the reader has gone, 11 with one line on stderr when the write failed otherwise.
 */
export function writeVersion(report: string): number {
  try {
    const bytes = new TextEncoder().encode(`${report}\n`);
    for (let off = 0; off < bytes.length;) off += writeSync(1, bytes, off);
    return ExitCode.Ok;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EPIPE") return ExitCode.BrokenPipe;
    writeSync(2, `vigocli: ${toVigoError(err, "standard output").message}\n`);
    return ExitCode.Io;
  }
}
