/** Small helpers shared by the crash matrix's scenarios. */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";

/** SHA-256 of a file, hex. */
export const sha256 = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
/** Removes a path, ignoring errors. */
export const rm = (p: string) => Deno.remove(p, { recursive: true }).catch(() => {});
/** Snapshot directory names of the crate executors. */
export const SNAPSHOT = /^\d{4}\.\d{3}\.\d{2}\.\d{2}$/;

/** Runs vigocli; throws with its stderr unless it exits 0. Returns stdout. */
export async function mustRun(args: string[], env?: Record<string, string>): Promise<string> {
  const r = await runCli(args, { env });
  if (r.code !== 0) throw new Error(`vigocli ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Rows of table `t`. */
export function rows(db: string): number {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    return Number((d.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n);
  } finally {
    d.close();
  }
}

/** "old" when `path` is absent, "new" when `complete(path)` holds; anything else is damage. */
export function absentOrComplete(path: string, complete: (p: string) => boolean): string {
  if (!existsSync(path)) return "old";
  if (!complete(path)) throw new Error(`${path}: present but incomplete`);
  return "new";
}
