/**
 * Loading and creating `<root>/secrets/.master.key`. Creation never replaces an existing key: the
 * new key is written and fsynced under a temporary name, then hard-linked to the final name, which
 * fails if another process created one first (then that key is used).
 */
import { link, mkdir, open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { CryptoError, NotFoundError, toVigoError } from "../errors.ts";
import { fsyncDirectory, removingTemp, tempPathFor } from "../fsutil/atomic_file.ts";
import { removeTemporary } from "../fsutil/left_temp.ts";
import { decodeMasterKey, encodeMasterKey, MASTER_KEY_BYTES } from "./master_key_format.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";
import { putMasterKeyBack } from "./master_key_remedy.ts";

/** File name of the master key inside secrets/. */
export const MASTER_KEY_FILE = ".master.key";

/** A loaded master key and what is worth telling the operator about its file. */
export interface LoadedMasterKey {
  key: Uint8Array;
  path: string;
  /** e.g. the file is readable by group or others. */
  warnings: string[];
  /** True when this call created the key. */
  created: boolean;
}

/** Reads the master key of `secretsDir`. Missing → {@link NotFoundError}; unreadable → IoError. */
export async function loadMasterKey(secretsDir: string): Promise<LoadedMasterKey> {
  const path = join(secretsDir, MASTER_KEY_FILE);
  let text: string;
  let mode: number;
  try {
    requireRegularFile(path, "the master key");
    text = await readFile(path, "utf8");
    mode = (await stat(path)).mode & 0o777;
  } catch (err) {
    const e = toVigoError(err, path);
    if (e instanceof NotFoundError) {
      // Put back, not made anew: a new key cannot open secrets restored from another host.
      throw new NotFoundError(
        `${path} is missing: on a restored host ${putMasterKeyBack(path)}; only a new server, with no ` +
          "secrets yet, creates one with: vigocli secret set NAME",
        { cause: err },
      );
    }
    throw e;
  }
  const key = decodeMasterKey(text, path);
  const warnings = (mode & 0o077) !== 0
    ? [`${path}: readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); run chmod 600`]
    : [];
  return { key, path, warnings, created: false };
}

/** Loads the master key, creating a new random one (mode 0600, secrets/ mode 0700) if absent. */
export async function loadOrCreateMasterKey(secretsDir: string): Promise<LoadedMasterKey> {
  try {
    return await loadMasterKey(secretsDir);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  const path = join(secretsDir, MASTER_KEY_FILE);
  const key = crypto.getRandomValues(new Uint8Array(MASTER_KEY_BYTES));
  const temp = tempPathFor(path);
  // Removed only once made: Bun's rm({ force: true }) of a missing file on a read-only file system
  // throws EROFS, which replaced the real error with one naming a temporary file that never existed.
  let made = false;
  let raced = false;
  try {
    await mkdir(secretsDir, { recursive: true, mode: 0o700 });
    const fh = await open(temp, "wx", 0o600);
    made = true;
    try {
      await fh.writeFile(encodeMasterKey(key));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(temp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      raced = true;
    }
    if (!raced) fsyncDirectory(secretsDir);
  } catch (err) {
    const failure = err instanceof CryptoError || err instanceof NotFoundError ? err : toVigoError(err, path);
    // Still the error when the temporary file cannot be removed either, then also saying so.
    throw made ? removingTemp(failure, temp, path) : failure;
  }
  // Linked into place, or another run's key got there first: what is left under the temporary name
  // is only a key file nobody reads, which the secret store's sweep removes (its name carries this PID).
  removeTemporary(temp);
  return raced ? await loadMasterKey(secretsDir) : { key, path, warnings: [], created: true };
}
