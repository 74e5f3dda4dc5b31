/**
 * manifest.json: the first entry of every archive. It describes every other entry (path, type, size,
 * mode, SHA-256) and the database snapshot, so an archive can be inspected without reading it all and
 * checked entry by entry before anything is restored. Format: docs/archive-format.md.
 */
import { BadInputError } from "../errors.ts";
import type { TarEntryType } from "../codec/tar/tar_format.ts";
import { parseRfc3339 } from "../rfc3339.ts";

/** Value of `format` in every manifest. */
export const MANIFEST_FORMAT = "vigo-backup";
/** Current manifest format version. Readers refuse versions they do not know. */
export const MANIFEST_VERSION = 1;
/** Archive path of the manifest. */
export const MANIFEST_PATH = "manifest.json";
/** Archive path of the database. */
export const DB_ENTRY_PATH = "db/vigo.db";
/** The top-level names an archive may contain (besides the manifest). */
export const TOP_LEVEL = ["db", "stacks", "secrets", "tls", "server.yaml"] as const;

/** One archived file, directory or symbolic link. */
export interface ManifestEntry {
  /** Archive path, `/`-separated, relative; directories end in `/`. */
  path: string;
  type: TarEntryType;
  /** Permission bits as an octal string, e.g. "0644". */
  mode: string;
  /** Files: byte size. */
  size?: number;
  /** Files: lowercase hex SHA-256 of the content. */
  sha256?: string;
  /** Symbolic links: the link target, stored verbatim. */
  target?: string;
  /** Modification time, seconds since the epoch. */
  mtime: number;
}

/** The whole manifest. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  format_version: number;
  /** ISO 8601 UTC, when the database snapshot was taken. */
  created_at: string;
  tool: { name: string; version: string; runtime: string };
  sqlite_version: string;
  hostname: string;
  source: {
    server_root: string;
    server_yaml: string;
    database: string;
    /** Top-level paths that were symbolic links on the source, followed: archive path → link target. */
    followed?: Record<string, string>;
  };
  database: {
    path: string;
    page_size: number;
    page_count: number;
    /** Result of `PRAGMA integrity_check` on the snapshot: "ok" or the first problem. */
    integrity_check: string;
  };
  entries: ManifestEntry[];
  /**
   * Paths deliberately left out of this archive (only `secrets/.master.key`, by
   * `backup create --exclude-master-key`); absent when nothing was.
   */
  excluded?: string[];
}

/** Where the secrets store's master key sits in an archive (and under the server root). */
export const MASTER_KEY_ENTRY_PATH = "secrets/.master.key";

/** Octal string of permission bits. */
export function modeString(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/** Serialises a manifest (pretty, stable key order as built). */
export function encodeManifest(m: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m, null, 2) + "\n");
}

/**
 * Checks that an archive path is safe to join under a target directory: relative, no `..`, no empty or
 * `.` segments, no NUL, under one of the known top-level names.
 */
export function checkArchivePath(path: string): void {
  // Regular expressions, not split(): a manifest of 10,000 entries is checked in a process that has just
  // started, where every JavaScript call still runs in the interpreter (`backup inspect`: 20 → ~8 ms).
  // Every valid path passes the first; the checks after it only say which rule a refused path breaks.
  if (VALID_PATH.test(path)) return;
  // A backslash or a "C:" is an ordinary character on Linux, where restore runs: `stacks/web\old.yaml`
  // is one file, and create archives it. The layout check below already refuses a drive-letter top level.
  if (path === "" || path.startsWith("/")) {
    throw new BadInputError(`archive entry has an absolute or malformed path: ${JSON.stringify(path)}`);
  }
  // An empty, "." or ".." segment, or a NUL, in the path without its one trailing "/".
  if (/(?:^|\/)\.{0,2}(?:\/|$)|\0/.test(path.endsWith("/") ? path.slice(0, -1) : path)) {
    throw new BadInputError(`archive entry escapes the target: ${JSON.stringify(path)}`);
  }
  if (!TOP_LEVEL_PATH.test(path)) {
    throw new BadInputError(`archive entry outside the known layout: ${JSON.stringify(path)}`);
  }
}

const TOP_LEVEL_NAME = `(?:${TOP_LEVEL.map((t) => t.replaceAll(".", "\\.")).join("|")})`;
const TOP_LEVEL_PATH = new RegExp(`^${TOP_LEVEL_NAME}(?:/|$)`);
/** Every path the rules above accept: a top-level name, then segments that are not "", "." or "..". */
const VALID_PATH = new RegExp(`^${TOP_LEVEL_NAME}(?:/(?!\\.\\.?(?:/|$))[^/\\0]+)*/?$`);

/**
 * Checks that a symbolic link stored at `path` with `target` resolves inside the tree it is restored
 * into: relative targets only, and never climbing above the root.
 */
export function checkLinkTarget(path: string, target: string): void {
  if (target === "" || target.startsWith("/") || target.includes("\0")) {
    throw new BadInputError(`symbolic link ${path} points outside the target: ${JSON.stringify(target)}`);
  }
  const depth = path.replace(/\/$/, "").split("/").slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (depth.length === 0) {
        throw new BadInputError(`symbolic link ${path} points outside the target: ${JSON.stringify(target)}`);
      }
      depth.pop();
    } else depth.push(part);
  }
}

// A literal in the loop below would be a new object on every entry.
const MODE_PATTERN = /^[0-7]{3,4}$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** Parses and validates a manifest; throws {@link BadInputError} naming the problem. */
export function parseManifest(bytes: Uint8Array): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new BadInputError("manifest.json is not valid JSON");
  }
  if (typeof m !== "object" || m === null || m.format !== MANIFEST_FORMAT) {
    throw new BadInputError("manifest.json is not a vigo-backup manifest");
  }
  if (typeof m.format_version !== "number") {
    // A string "1" printed as 1 read "format_version 1 is not supported (expected 1)".
    throw new BadInputError(`manifest format_version ${JSON.stringify(m.format_version)} is not a number`);
  }
  if (m.format_version !== MANIFEST_VERSION) {
    throw new BadInputError(`manifest format_version ${m.format_version} is not supported (expected 1)`);
  }
  if (!Array.isArray(m.entries) || typeof m.database !== "object" || m.database === null) {
    throw new BadInputError("manifest.json lacks entries or database");
  }
  // Restore places the database by them: a manifest without them was refused only there, and as a bug.
  const source = m.source as Record<string, unknown> | null;
  const followed = source?.followed as Record<string, unknown> | null | undefined;
  if (
    typeof source !== "object" || source === null ||
    !["server_root", "server_yaml", "database"].every((k) => typeof source[k] === "string")
  ) {
    throw new BadInputError("manifest source lacks server_root, server_yaml or database (strings)");
  }
  if (
    followed !== undefined &&
    (typeof followed !== "object" || followed === null || Array.isArray(followed) ||
      Object.values(followed).some((v) => typeof v !== "string"))
  ) {
    throw new BadInputError(
      "manifest source.followed is not an object of strings (archive path → link target)",
    );
  }
  if (typeof m.created_at !== "string") throw new BadInputError("manifest created_at is not a string");
  // The drill's age of the newest archive and `list` read it as a time: one that is not would be NaN days.
  const createdAt = parseRfc3339(m.created_at);
  if (typeof createdAt === "string") {
    throw new BadInputError(`manifest created_at ${JSON.stringify(m.created_at)}: ${createdAt}`);
  }
  if (
    m.excluded !== undefined &&
    (!Array.isArray(m.excluded) || m.excluded.some((p) => p !== MASTER_KEY_ENTRY_PATH))
  ) {
    throw new BadInputError(`manifest excluded: only ${JSON.stringify([MASTER_KEY_ENTRY_PATH])} is allowed`);
  }
  const seen = new Set<string>();
  const links = new Set<string>();
  for (const e of m.entries) {
    const path = e?.path;
    if (typeof path !== "string") throw new BadInputError("manifest entry without a path");
    // One pattern for a valid path, tested before any call, and each pattern made once: parsing the
    // manifest of 10,000 entries in a process just started took 13.4 → 10.0 ms (medians of 6).
    if (!VALID_PATH.test(path)) checkArchivePath(path);
    if (seen.has(path)) throw new BadInputError(`manifest lists ${path} twice`);
    seen.add(path);
    // A string: test() would turn the number 644 into "644" and accept it.
    if (typeof e.mode !== "string" || !MODE_PATTERN.test(e.mode)) {
      throw new BadInputError(
        `manifest entry ${path} has a bad mode (must be a string of 3 or 4 octal digits)`,
      );
    }
    if (e.type === "file") {
      if (!Number.isSafeInteger(e.size) || e.size! < 0) {
        throw new BadInputError(`manifest entry ${path} lacks a size (a non-negative integer)`);
      }
      if (typeof e.sha256 !== "string" || !SHA256_PATTERN.test(e.sha256)) {
        throw new BadInputError(`manifest entry ${path}: sha256 must be 64 lowercase hex digits`);
      }
    } else if (e.type === "symlink") {
      if (typeof e.target !== "string") throw new BadInputError(`manifest entry ${path} lacks a target`);
      checkLinkTarget(path, e.target);
      links.add(path);
    } else if (e.type !== "dir") {
      throw new BadInputError(`manifest entry ${path} has unknown type ${JSON.stringify(e.type)}`);
    }
  }
  // Nothing may lie below an archived symlink (restoring it would write through the link). Each
  // entry's ancestors are looked up in a set: comparing every entry with every link was quadratic
  // (8,000 links and 8,000 files: 7 s).
  for (const e of links.size > 0 ? m.entries : []) {
    for (let slash = e.path.indexOf("/"); slash > 0; slash = e.path.indexOf("/", slash + 1)) {
      if (links.has(e.path.slice(0, slash))) {
        throw new BadInputError(`archive entry ${e.path} lies under a symbolic link`);
      }
    }
  }
  if (!seen.has(DB_ENTRY_PATH)) throw new BadInputError(`manifest does not list ${DB_ENTRY_PATH}`);
  for (const p of m.excluded ?? []) {
    if (seen.has(p)) throw new BadInputError(`manifest lists ${p} as excluded and as an entry`);
  }
  return m;
}
