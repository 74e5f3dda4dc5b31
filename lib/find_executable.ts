/**
 * Looks a command up as execvp(3) would (a name with a slash as given, else each PATH directory), so a
 * missing helper is reported the same way everywhere: emulators such as qemu-user report a failed exec
 * only as a child exiting 127, not as the ENOENT a native spawn gives.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";

/** The path `name` would run from, or null when there is no executable file by that name. */
export function findExecutable(name: string, path: string = process.env.PATH ?? ""): string | null {
  const candidates = name.includes("/")
    ? [name]
    : path.split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here, or not executable: try the next
    }
  }
  return null;
}
