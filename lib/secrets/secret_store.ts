/**
 * The secret store of a server root: `secret:NAME` lives in `<root>/secrets/NAME`, encrypted
 * under `<root>/secrets/.master.key` (formats in docs/secrets-format.md). Writes are atomic and
 * mode 0600; directories are created mode 0700.
 */
import { mkdir, open, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { BadInputError, CryptoError, NotFoundError, toVigoError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil/atomic_file.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { type LoadedMasterKey, loadMasterKey, loadOrCreateMasterKey, MASTER_KEY_FILE } from "./master_key.ts";
import { putMasterKeyBack } from "./master_key_remedy.ts";
import {
  decodeSecretFile,
  encodeSecretFile,
  hasSecretMagic,
  MAX_SECRET_BYTES,
  SECRET_MAGIC,
} from "./secret_file.ts";
import { secretNameFromRelativePath, secretNameProblem, secretPath } from "./secret_name.ts";
import { readSmallRegularFile } from "../fsutil/regular_file.ts";

/** Bytes a stored secret file may have: its value at most, sealed, with room for its header. */
const SECRET_FILE_MAX = MAX_SECRET_BYTES + 64 * 1024;

/** Read, write and list the secrets of one server root. */
export class SecretStore {
  /** `<root>/secrets`. */
  readonly secretsDir: string;
  /** Warnings collected while reading (e.g. a master key readable by others), without duplicates. */
  readonly warnings: string[] = [];
  #key?: Uint8Array;

  constructor(serverRoot: string) {
    this.secretsDir = join(serverRoot, "secrets");
  }

  /**
   * A NotFoundError naming the server root when it is not there: a mistyped --server-root listed no
   * secrets (exit 0) and said "no such secret" of each, as if the store were empty.
   */
  #missingRoot(): NotFoundError | undefined {
    const root = dirname(this.secretsDir);
    if (existsSync(root)) return undefined;
    return new NotFoundError(`${root}: no such directory (the server root)`);
  }

  /** The path of secret `name` (validated). */
  pathOf(name: string): string {
    return secretPath(this.secretsDir, name);
  }

  /**
   * The decrypted bytes of secret `name`. Missing → {@link NotFoundError}, unreadable →
   * IoError, wrong master key or tampered file → CryptoError; each names the file.
   */
  async getBytes(name: string): Promise<Uint8Array> {
    const path = this.pathOf(name);
    let file: Uint8Array;
    try {
      // Bounded and never waited on: a secret linked to /dev/zero was read until memory ran out (exit 1).
      file = readSmallRegularFile(path, "secret file", SECRET_FILE_MAX, (m) => new CryptoError(m));
    } catch (err) {
      const e = toVigoError(err, path);
      if (e instanceof NotFoundError) {
        throw this.#missingRoot() ?? new NotFoundError(`${path}: no such secret "${name}"`, { cause: err });
      }
      throw e;
    }
    return await decodeSecretFile(await this.#masterKey(), name, file, path);
  }

  /** Secret `name` as UTF-8 text (configuration values are text). */
  async get(name: string): Promise<string> {
    const bytes = await this.getBytes(name);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new BadInputError(`${this.pathOf(name)}: secret "${name}" is not valid UTF-8 text`);
    }
  }

  /**
   * Encrypts and writes secret `name` atomically (mode 0600), creating the master key if absent. When
   * the key is absent but secrets/ already holds secrets (a host restored without its key), a new key
   * could never open them: {@link NotFoundError} naming the key file, unless `options.newMasterKey`.
   * Returns whether the master key was created by this call.
   */
  async set(
    name: string,
    value: Uint8Array,
    options: { newMasterKey?: boolean } = {},
  ): Promise<{ path: string; createdMasterKey: boolean }> {
    const path = this.pathOf(name);
    // Not made along with secrets/: a mistyped --server-root would get a master key of its own.
    const missing = this.#missingRoot();
    if (missing) throw missing;
    const mk = await this.#keyToSealWith(options.newMasterKey === true);
    this.#addWarnings(mk.warnings);
    this.#key = mk.key;
    const encoded = await encodeSecretFile(mk.key, name, value);
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw toVigoError(err, dirname(path));
    }
    // A set killed mid-write left a temp file beside the secret (or the master key): gone once its
    // process is dead.
    sweepStaleTemps(dirname(path));
    sweepStaleTemps(this.secretsDir);
    await writeFileAtomic(path, encoded);
    return { path, createdMasterKey: mk.created };
  }

  /**
   * Names of all secrets, sorted. Dot-files and dot-directories (the master key, temporary files)
   * and files whose names are not valid secret names are skipped. No secrets/ → empty list; no server
   * root → NotFoundError.
   */
  async list(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.secretsDir, { recursive: true, withFileTypes: true });
    } catch (err) {
      const e = toVigoError(err, this.secretsDir);
      if (!(e instanceof NotFoundError)) throw e;
      const missing = this.#missingRoot();
      if (missing) throw missing;
      return [];
    }
    const names: string[] = [];
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const rel = relative(this.secretsDir, join(entry.parentPath, entry.name));
      const name = secretNameFromRelativePath(rel);
      if (secretNameProblem(name) === undefined) names.push(name);
    }
    return names.sort();
  }

  async #keyToSealWith(newMasterKey: boolean): Promise<LoadedMasterKey> {
    const existing = await this.#existingMasterKey();
    if (existing) return existing;
    const sealed = newMasterKey ? [] : await this.#sealedSecrets();
    if (sealed.length > 0) {
      // A first set running beside this one makes its key before it seals: what list() found may be that.
      const raced = await this.#existingMasterKey();
      if (raced) return raced;
      const keyPath = join(this.secretsDir, MASTER_KEY_FILE);
      const held = sealed.length === 1
        ? `secret "${sealed[0]}"`
        : `${sealed.length} secrets ("${sealed[0]}", …)`;
      const advice = putMasterKeyBack(keyPath);
      throw new NotFoundError(
        `${keyPath} is missing but ${this.secretsDir} holds ${held} that a new master key could never open: ` +
          `${advice}, or give --new-master-key to make a new one anyway (those stay unreadable)`,
      );
    }
    return await loadOrCreateMasterKey(this.secretsDir);
  }

  /**
   * The secrets whose files begin as a sealed secret does: a README or a plain-text file an operator
   * left in a new server's secrets/ is nothing a new master key would orphan.
   */
  async #sealedSecrets(): Promise<string[]> {
    const sealed: string[] = [];
    for (const name of await this.list()) {
      let fh;
      try {
        fh = await open(this.pathOf(name), "r");
        const head = new Uint8Array(SECRET_MAGIC.length);
        const { bytesRead } = await fh.read(head, 0, head.length, 0);
        if (hasSecretMagic(head.subarray(0, bytesRead))) sealed.push(name);
      } catch (err) {
        throw toVigoError(err, this.pathOf(name));
      } finally {
        await fh?.close();
      }
    }
    return sealed;
  }

  async #existingMasterKey(): Promise<LoadedMasterKey | undefined> {
    try {
      return await loadMasterKey(this.secretsDir);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      return undefined;
    }
  }

  async #masterKey(): Promise<Uint8Array> {
    if (!this.#key) {
      const mk = await loadMasterKey(this.secretsDir);
      this.#addWarnings(mk.warnings);
      this.#key = mk.key;
    }
    return this.#key;
  }

  #addWarnings(ws: string[]): void {
    for (const w of ws) if (!this.warnings.includes(w)) this.warnings.push(w);
  }
}
