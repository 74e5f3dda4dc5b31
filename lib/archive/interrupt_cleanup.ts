/**
 * Removes this process's temporary files when it is interrupted (SIGINT, SIGTERM, SIGHUP). A create
 * holds a full database copy and a half-written archive under temporary names, a restore a staging
 * directory: none of them may outlive a Ctrl-C. The process then exits with code 130.
 */
import { rmSync } from "node:fs";
import process from "node:process";
import { ExitCode } from "../errors.ts";

const paths = new Set<string>();
let installed = false;

/** Registers `path` (file or directory) for removal on interruption; returns the unregister function. */
export function removeOnInterrupt(path: string): () => void {
  if (!installed) {
    installed = true;
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      try {
        process.on(signal, () => {
          for (const p of paths) rmSync(p, { recursive: true, force: true });
          process.stderr.write(`vigocli: interrupted (${signal}); temporary files removed\n`);
          process.exit(ExitCode.Interrupted);
        });
      } catch {
        // A runtime without this signal (e.g. SIGHUP on some platforms) just keeps its default.
      }
    }
  }
  paths.add(path);
  return () => void paths.delete(path);
}
