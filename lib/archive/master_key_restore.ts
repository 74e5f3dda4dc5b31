/**
 * `backup restore --master-key FILE`: the spec's "protect the master key separately". An archive made
 * with `--exclude-master-key` lacks `secrets/.master.key` (its manifest lists it under `excluded`);
 * the operator keeps the key elsewhere (a password manager) and gives it back at restore time. The
 * file is checked before anything is restored, and written atomically (0600) afterwards.
 */
import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CryptoError, ExistsError, toVigoError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil/atomic_file.ts";
import { decodeMasterKey, encodeMasterKey, KEY_ID_BYTES, masterKeyId } from "../secrets/master_key_format.ts";
import { hasSecretMagic, hex, SECRET_MAGIC } from "../secrets/secret_file.ts";
import { putMasterKeyBack } from "../secrets/master_key_remedy.ts";
import { type Manifest, MASTER_KEY_ENTRY_PATH } from "./manifest.ts";

/** What to do about the master key once the archive is restored. */
export type MasterKeyAction = "install" | "compare" | "warn_missing" | "none";

/** Decides from the manifest and whether `--master-key` was given (pure). */
export function masterKeyAction(manifest: Manifest, given: boolean): MasterKeyAction {
  const archived = manifest.entries.some((e) => e.path === MASTER_KEY_ENTRY_PATH);
  if (given) return archived ? "compare" : "install";
  return manifest.excluded?.includes(MASTER_KEY_ENTRY_PATH) ? "warn_missing" : "none";
}

/** Reads and validates a master key file; returns its canonical text. Exit 6 when it is not a key. */
export async function readMasterKeyFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw toVigoError(err, path);
  }
  return encodeMasterKey(decodeMasterKey(text, path));
}

/** Where the key goes under a restored root. */
export function masterKeyPath(target: string): string {
  return join(target, ...MASTER_KEY_ENTRY_PATH.split("/"));
}

/**
 * Carries out `action` for a restore into `target` with the key text `given` (from
 * {@link readMasterKeyFile}). Returns a warning line for the operator, or null.
 */
export async function applyMasterKey(
  target: string,
  action: MasterKeyAction,
  given: string | undefined,
): Promise<string | null> {
  const path = masterKeyPath(target);
  if (action === "warn_missing") {
    return `the archive was made with --exclude-master-key: ${path} is missing and secret: values cannot be ` +
      `read until you ${putMasterKeyBack(path)}`;
  }
  if (action === "none" || given === undefined) return null;
  if (action === "compare") {
    const restored = await readFile(path, "utf8").catch((err) => {
      throw toVigoError(err, path);
    });
    if (encodeMasterKey(decodeMasterKey(restored, path)) === given) return null;
    // Said after the fact: the comparison needs the archived key, which exists only once the tree is in
    // place. That tree keeps the archive's own key, the one its secrets are sealed with.
    throw new ExistsError(
      `${path}: the archive holds its own master key, which differs from --master-key; the archive was ` +
        "restored with its own key (its secrets are sealed with it), the given key was not installed",
    );
  }
  // The restored secrets say which key sealed them: a key that did not was installed, exit 0, and only a
  // later `secret get` failed (found by review).
  const givenId = masterKeyId(decodeMasterKey(given, "--master-key"));
  const sealedBy = sealingKeyId(dirname(path));
  if (sealedBy && !sealedBy.id.every((b, i) => b === givenId[i])) {
    throw new CryptoError(
      `--master-key: not the key the archive's secrets are sealed with (${sealedBy.file} has key id ` +
        `${hex(sealedBy.id)}, the given key ${
          hex(givenId)
        }); the archive was restored, the key not installed`,
    );
  }
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw toVigoError(err, dirname(path));
  }
  await writeFileAtomic(path, given);
  return null;
}

/** The key id in the first sealed secret file under `secretsDir` (dot-names skipped), or null. */
function sealingKeyId(secretsDir: string): { file: string; id: Uint8Array } | null {
  let entries;
  try {
    entries = readdirSync(secretsDir, { recursive: true, withFileTypes: true });
  } catch {
    return null;
  }
  for (const e of entries) {
    if (!e.isFile() || e.name.startsWith(".")) continue;
    const file = join(e.parentPath, e.name);
    const head = new Uint8Array(SECRET_MAGIC.length + 1 + KEY_ID_BYTES);
    let n = 0;
    try {
      const fd = openSync(file, "r");
      try {
        n = readSync(fd, head, 0, head.length, 0);
      } finally {
        closeSync(fd);
      }
    } catch {
      continue;
    }
    if (n === head.length && hasSecretMagic(head)) {
      return { file, id: head.subarray(SECRET_MAGIC.length + 1) };
    }
  }
  return null;
}
