/**
 * What the backends that store objects as plain files in a directory tree (file://, sftp://) share:
 * which keys are valid paths, which names are writes in progress, and how a recursive directory walk
 * yields keys in ascending order. Only reading a directory and describing a file differ between them.
 */
import { randomBytes } from "node:crypto";
import { BackendError } from "../errors.ts";
import type { ObjectInfo } from "./backend.ts";

/** A fresh name for writing `name` in progress, hidden and recognised by {@link isTempName}. */
export function tempNameFor(name: string): string {
  return `.${name}.tmp-${randomBytes(6).toString("hex")}`;
}

/**
 * True for names that are writes in progress, ours (`.<name>.tmp-<hex>` on sftp://, `.<name>.tmp-<pid>-<hex>` on
 * file://) or Litestream's (`<name>.tmp`).
 */
function isTempName(name: string): boolean {
  return name.endsWith(".tmp") || (name.startsWith(".") && name.includes(".tmp-"));
}

/** Rejects keys that are not a plain relative path below the root (empty, absolute, `.`/`..`, `\`). */
export function checkTreeKey(key: string): void {
  if (
    key === "" || key.startsWith("/") || key.endsWith("/") || key.includes("\\") ||
    key.split("/").some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new BackendError(`invalid object key ${JSON.stringify(key)}`);
  }
}

/** One directory entry, already known to be a directory or a regular file. */
export interface TreeEntry {
  name: string;
  dir: boolean;
  /** Size and mtime of a file; null when it vanished since the directory was read. */
  info(): Promise<{ size: number; mtime: Date } | null>;
}

/**
 * Every file whose key starts with `prefix`, in ascending key order. `readDir(dirKey)` lists one
 * directory ("" = the root; [] when it does not exist) with anything but directories and regular
 * files left out.
 */
export async function* walkTree(
  prefix: string,
  readDir: (dirKey: string) => Promise<TreeEntry[]>,
): AsyncIterable<ObjectInfo> {
  // Start at the deepest directory the prefix names; filter the rest by name.
  const cut = prefix.lastIndexOf("/");
  const dirKey = cut >= 0 ? prefix.slice(0, cut) : "";
  if (dirKey !== "") checkTreeKey(dirKey);
  yield* walkDir(dirKey, prefix, readDir);
}

async function* walkDir(
  dirKey: string,
  prefix: string,
  readDir: (dirKey: string) => Promise<TreeEntry[]>,
): AsyncIterable<ObjectInfo> {
  // Sorting directories as "name/" gives exactly the ascending order of the full keys.
  const items = (await readDir(dirKey))
    .filter((e) => !isTempName(e.name))
    .map((e) => ({ e, sortKey: e.dir ? `${e.name}/` : e.name }))
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  for (const { e } of items) {
    const key = dirKey === "" ? e.name : `${dirKey}/${e.name}`;
    if (e.dir) {
      if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walkDir(key, prefix, readDir);
      continue;
    }
    if (!key.startsWith(prefix)) continue;
    const info = await e.info();
    if (info) yield { key, size: info.size, mtime: info.mtime };
  }
}
