/**
 * Finds the snapshot resources a drill can check: every configcrate file under
 * `<root>/stacks/configcrates/**` (`.yaml`, `.yml`) with resources of type `backup` or `db_backup`.
 * Configcrates also hold resources for other executors (package, file, service); those are left
 * out before the crate is validated by the crate loader, which only knows these two types.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { ConfigError, toVigoError } from "../errors.ts";
import { type CrateResource, parseCrate } from "../crate/crate_file.ts";

/** Where configcrate files live under the server root. */
export const CONFIGCRATES_DIR = join("stacks", "configcrates");

/** A snapshot resource and the crate file that declares it. */
export interface FoundResource {
  crateFile: string;
  resource: CrateResource;
}

/** Every `*.yaml`/`*.yml` below `dir`, sorted; none when `dir` does not exist. */
function crateFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw toVigoError(err, dir);
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...crateFiles(p));
    else if (e.isFile() && /\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** The backup and db_backup resources of the server's configcrates. Throws ConfigError on a bad crate. */
export function findSnapshotResources(serverRoot: string): FoundResource[] {
  const out: FoundResource[] = [];
  for (const path of crateFiles(join(serverRoot, CONFIGCRATES_DIR))) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(path, "utf8"));
    } catch (err) {
      throw new ConfigError(`${path}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    if (
      typeof doc !== "object" || doc === null || !Array.isArray((doc as { resources?: unknown }).resources)
    ) {
      continue;
    }
    const d = doc as { resources: unknown[] };
    const ours = d.resources.filter((r) => {
      const type = (r as { type?: unknown } | null)?.type;
      return type === "backup" || type === "db_backup";
    });
    if (ours.length === 0) continue;
    const crate = parseCrate(stringify({ ...d, resources: ours }), path);
    for (const resource of crate.resources) out.push({ crateFile: path, resource });
  }
  return out;
}
