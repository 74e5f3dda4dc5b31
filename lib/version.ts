import { DatabaseSync } from "node:sqlite";
import process from "node:process";
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

/** One line for `--version`: version, commit, build date, compiler, runtime, SQLite, architecture. */
export function versionLine(): string {
  return `vigocli ${VERSION} (commit ${BUILD_INFO.commit}, built ${BUILD_INFO.date}, compiler ${BUILD_INFO.compiler}, ` +
    `runtime ${runtimeVersion()}, sqlite ${sqliteVersion()}, arch ${process.arch})`;
}
