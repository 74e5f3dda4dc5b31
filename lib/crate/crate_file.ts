/**
 * Configcrate files: parse the YAML, substitute `{{ var }}` references, check every resource against
 * the parameters its executor knows and fill in the spec's defaults. Anything unknown is a ConfigError
 * naming the file, the resource and the parameter, so a typo never silently turns into a default.
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { parseDocument } from "yaml";
import { firstDuplicateKey } from "../config/yaml_duplicate_keys.ts";
import { lineSuffix } from "../config/yaml_section.ts";
import { ConfigError, toVigoError } from "../errors.ts";
import { type Schedule, SCHEDULES } from "./schedule.ts";
import { parseSize } from "./size.ts";
import { substituteVars } from "./crate_vars.ts";
import { checkResourceOverlaps } from "./crate_overlaps.ts";
import { readConfigText } from "../fsutil/regular_file.ts";

/** What the backup executor does when source and target live on different filesystems. */
export type CrossFs = "fail" | "copy" | "warn";

/** Parameters shared by both executors. */
export interface CommonResource {
  /** Resource name, unique in the crate. */
  name: string;
  /** Directory that receives the `YYYY.JJJ.HH.MM` snapshot directories. */
  targetPath: string;
  /** Days to keep snapshots (default 30). */
  retainDays: number;
  /** Schedule window (default daily). */
  schedule: Schedule;
  /** Refuse to run when the target filesystem has less free space than this (default 1G). */
  minFreeBytes: number;
  /** Shell command run before the snapshot; failure aborts the resource. */
  preCommand?: string;
  /** Shell command run after the snapshot (also after a failed one); failure is reported. */
  postCommand?: string;
}

/** A `type: backup` resource: hardlink snapshots of a directory tree. */
export interface BackupResource extends CommonResource {
  type: "backup";
  /** Directory to back up. */
  sourceDir: string;
  /** Exclude globs (see exclude_glob.ts). */
  exclude: string[];
  /** Default fail. */
  crossFs: CrossFs;
}

/** A `type: db_backup` resource: deterministic compressed SQL dumps of a SQLite database. */
export interface DbBackupResource extends CommonResource {
  type: "db_backup";
  /** Only sqlite. */
  dbType: "sqlite";
  /** The live database file. */
  sourceDb: string;
}

/** One resource of a crate. */
export type CrateResource = BackupResource | DbBackupResource;

/** A validated crate file. */
export interface CrateFile {
  /** Absolute path of the file that was read. */
  path: string;
  /** The crate's `name`. */
  name: string;
  /** Var values after overrides. */
  vars: Record<string, string>;
  resources: CrateResource[];
}

/** How to read a crate. */
export interface CrateLoadOptions {
  /** `--var name=value` overrides; each must name a var the crate declares. */
  vars?: Record<string, string>;
  /** Rebase every absolute path of the crate under this directory (restore drills, tests). */
  root?: string;
  /**
   * Leave out resources of the server's other executors (package, file, service, …) instead of
   * refusing them: for reading the server's own configcrates, which hold them too. A document with
   * none of ours is not validated at all and comes back with no resources.
   */
  skipOtherExecutors?: boolean;
}

const TOP_KEYS = new Set(["name", "description", "vars", "resources"]);
const COMMON_KEYS = [
  "name",
  "type",
  "target_path",
  "retain",
  "schedule",
  "min_free_space",
  "pre_command",
  "post_command",
];
const KEYS: Record<CrateResource["type"], Set<string>> = {
  backup: new Set([...COMMON_KEYS, "source_dir", "exclude", "cross_fs"]),
  db_backup: new Set([...COMMON_KEYS, "db_type", "source_db"]),
};
const DEFAULTS = { retain: 30, schedule: "daily", crossFs: "fail", minFreeSpace: "1G" } as const;

/** Reads and validates the crate at `path`. */
export function loadCrateFile(path: string, opts: CrateLoadOptions = {}): CrateFile {
  const abs = resolve(path);
  let text: string;
  try {
    // Bounded and never waited on: a crate file that is a FIFO hung the run past SIGTERM, and a link to
    // /dev/zero was read until memory ran out.
    text = readConfigText(abs, "crate file");
  } catch (err) {
    throw toVigoError(err, abs);
  }
  return parseCrate(text, abs, opts);
}

/** Validates crate YAML `text`; `path` is used in messages and to resolve relative paths. */
export function parseCrate(text: string, path: string, opts: CrateLoadOptions = {}): CrateFile {
  let doc: unknown;
  try {
    // uniqueKeys off: the package's check is quadratic; firstDuplicateKey() is the linear one.
    const parsed = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
    if (parsed.errors.length > 0) throw parsed.errors[0];
    const dup = firstDuplicateKey(parsed);
    if (dup) {
      const line = dup.offset === undefined ? undefined : text.slice(0, dup.offset).split("\n").length;
      throw new Error(`Map keys must be unique: ${JSON.stringify(dup.key)}${lineSuffix(line)}`);
    }
    doc = parsed.toJS({ maxAliasCount: 100 }); // refuses alias bombs (the package's default, stated)
  } catch (err) {
    throw new ConfigError(`${path}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const nul = placeOfNul(doc, "");
  if (nul !== undefined) throw new ConfigError(`${path}: ${nul || "the document"}: holds a NUL byte ("\\0")`);
  if (opts.skipOtherExecutors && !holdsSnapshotResource(doc)) {
    return { path, name: "", vars: {}, resources: [] };
  }
  if (!isMap(doc)) throw new ConfigError(`${path}: a configcrate must be a mapping with name and resources`);
  for (const k of Object.keys(doc)) {
    if (!TOP_KEYS.has(k)) throw new ConfigError(`${path}: unknown top-level key "${k}"`);
  }
  if (typeof doc.name !== "string" || doc.name === "") {
    throw new ConfigError(`${path}: name: required string`);
  }
  const vars = crateVars(doc.vars, path, opts.vars ?? {});
  if (!Array.isArray(doc.resources) || doc.resources.length === 0) {
    throw new ConfigError(`${path}: resources: required non-empty list`);
  }
  const seen = new Set<string>();
  const resources: CrateResource[] = [];
  for (const [i, raw] of doc.resources.entries()) {
    if (opts.skipOtherExecutors && !isSnapshotResource(raw)) continue;
    const res = parseResource(raw, i, path, vars, opts.root);
    if (seen.has(res.name)) throw new ConfigError(`${path}: resource "${res.name}": duplicate resource name`);
    seen.add(res.name);
    resources.push(res);
  }
  checkResourceOverlaps(path, resources);
  return { path, name: doc.name, vars, resources };
}

/**
 * Where in `value` a string holds a NUL byte (`resources[0].source_dir`), or undefined: no path, command
 * or name holds one, and the file system's refusal of such a path left as an internal error (exit 1).
 */
function placeOfNul(value: unknown, at: string): string | undefined {
  if (typeof value === "string") return value.includes("\0") ? at : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = placeOfNul(v, `${at}[${i}]`);
      if (found !== undefined) return found;
    }
  } else if (isMap(value)) {
    for (const [k, v] of Object.entries(value)) {
      const found = placeOfNul(v, at ? `${at}.${k}` : k);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** A resource of one of this project's executors (backup, db_backup). */
function isSnapshotResource(raw: unknown): boolean {
  return isMap(raw) && (raw.type === "backup" || raw.type === "db_backup");
}

/** A crate document with at least one {@link isSnapshotResource}: other documents are another executor's. */
function holdsSnapshotResource(doc: unknown): boolean {
  return isMap(doc) && Array.isArray(doc.resources) && doc.resources.some(isSnapshotResource);
}

function crateVars(raw: unknown, path: string, overrides: Record<string, string>): Record<string, string> {
  const vars: Record<string, string> = {};
  if (raw !== undefined && raw !== null) {
    if (!isMap(raw)) throw new ConfigError(`${path}: vars: must be a mapping of name: value`);
    for (const [k, v] of Object.entries(raw)) {
      if (!["string", "number", "boolean"].includes(typeof v)) {
        throw new ConfigError(`${path}: vars: ${k}: must be a string or number`);
      }
      vars[k] = String(v);
    }
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in vars)) throw new ConfigError(`${path}: --var ${k}: the crate declares no var "${k}"`);
    vars[k] = v;
  }
  return vars;
}

function parseResource(
  raw: unknown,
  index: number,
  path: string,
  vars: Record<string, string>,
  root: string | undefined,
): CrateResource {
  const label = isMap(raw) && typeof raw.name === "string" ? `resource "${raw.name}"` : `resources[${index}]`;
  const fail = (msg: string): never => {
    throw new ConfigError(`${path}: ${label}: ${msg}`);
  };
  if (!isMap(raw)) return fail("must be a mapping");
  const type = raw.type;
  if (type !== "backup" && type !== "db_backup") {
    return fail(`unknown type ${JSON.stringify(type)} (known: backup, db_backup)`);
  }
  for (const k of Object.keys(raw)) {
    if (!KEYS[type].has(k)) fail(`unknown parameter "${k}" for type ${type}`);
  }
  const str = (key: string, required: boolean): string | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return required ? fail(`${key}: required`) : undefined;
    if (typeof v !== "string" && typeof v !== "number") return fail(`${key}: must be a string`);
    return substituteVars(String(v), vars, (msg) => fail(`${key}: ${msg}`));
  };
  const pathParam = (key: string): string => {
    const p = str(key, true)!;
    if (p === "") return fail(`${key}: must not be empty`);
    if (!root) return isAbsolute(p) ? resolve(p) : resolve(dirname(path), p);
    // `..` is resolved against "/" first, so `/../../x` becomes <root>/x and never climbs out of --root.
    if (isAbsolute(p)) return join(resolve(root), resolve("/", p));
    const absolute = resolve(dirname(path), p);
    const rel = relative(resolve(root), absolute);
    if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      return fail(`${key}: ${p} resolves to ${absolute}, outside --root ${root}`);
    }
    return absolute;
  };
  if (typeof raw.name !== "string" || raw.name === "") fail("name: required string");
  const retainText = str("retain", false) ?? String(DEFAULTS.retain);
  const retainDays = /^\d+$/.test(retainText)
    ? Number(retainText)
    : fail(`retain: ${retainText}: not a whole number of days`);
  const schedule = str("schedule", false) ?? DEFAULTS.schedule;
  if (!(SCHEDULES as readonly string[]).includes(schedule)) {
    fail(`schedule: ${schedule}: must be one of ${SCHEDULES.join(", ")}`);
  }
  const minFree = str("min_free_space", false) ?? DEFAULTS.minFreeSpace;
  const minFreeBytes = parseSize(minFree) ?? fail(`min_free_space: ${minFree}: not a size (e.g. 1G, 500M)`);
  const common: CommonResource = {
    name: raw.name as string,
    targetPath: pathParam("target_path"),
    retainDays,
    schedule: schedule as Schedule,
    minFreeBytes,
    preCommand: str("pre_command", false) || undefined,
    postCommand: str("post_command", false) || undefined,
  };
  if (type === "db_backup") {
    const dbType = str("db_type", false) ?? "sqlite";
    if (dbType !== "sqlite") fail(`db_type: ${dbType}: only sqlite is supported`);
    return { ...common, type, dbType: "sqlite", sourceDb: pathParam("source_db") };
  }
  const crossFs = str("cross_fs", false) ?? DEFAULTS.crossFs;
  if (!["fail", "copy", "warn"].includes(crossFs)) fail(`cross_fs: ${crossFs}: must be fail, copy or warn`);
  // the spec's form is one comma-separated string; a YAML list of globs is accepted too
  const excludeRaw = Array.isArray(raw.exclude)
    ? raw.exclude.map((p, i) =>
      typeof p === "string"
        ? substituteVars(p, vars, (m) => fail(`exclude[${i}]: ${m}`))
        : fail(`exclude[${i}]: must be a string`)
    ).join(",")
    : str("exclude", false) ?? "";
  const exclude = excludeRaw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  return { ...common, type, sourceDir: pathParam("source_dir"), exclude, crossFs: crossFs as CrossFs };
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
