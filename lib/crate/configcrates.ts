/**
 * The server's configcrate files: every `*.yaml`/`*.yml` under `<root>/stacks/configcrates/`. Drill and
 * status read them to find the snapshot resources; a configcrate there may also hold resources of the
 * server's other executors (package, file, service), which readers skip with the crate loader's
 * `skipOtherExecutors`.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { toVigoError } from "../errors.ts";

/** Where configcrate files live, relative to the server root. */
export const CONFIGCRATES_DIR = join("stacks", "configcrates");

/**
 * Every configcrate file under `serverRoot`, sorted; none when the directory does not exist. Hidden
 * names are skipped: editors' and our own temporary files are not crates.
 */
export function configcrateFiles(serverRoot: string): string[] {
  const top = join(serverRoot, CONFIGCRATES_DIR);
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && dir === top) return;
      throw toVigoError(err, dir);
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.ya?ml$/.test(e.name)) out.push(p);
    }
  };
  walk(top);
  return out.sort();
}
