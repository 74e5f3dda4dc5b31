/** `backup restore --master-key`: checked before the restore, installed 0600, never silently replaced. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyMasterKey, masterKeyPath, readMasterKeyFile } from "../../lib/archive/master_key_restore.ts";
import { encodeMasterKey } from "../../lib/secrets/master_key_format.ts";
import { encodeSecretFile } from "../../lib/secrets/secret_file.ts";
import { CryptoError, ExistsError, NotFoundError } from "../../lib/errors.ts";

Deno.test("master key restore: validate, install, compare, warn", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigo-mk-"));
  try {
    const keyA = encodeMasterKey(new Uint8Array(32).fill(1));
    const keyB = encodeMasterKey(new Uint8Array(32).fill(2));
    writeFileSync(join(dir, "a.key"), keyA.trim() + "\r\n"); // as pasted from a password manager
    writeFileSync(join(dir, "bad.key"), "not a key\n");
    assert.equal(await readMasterKeyFile(join(dir, "a.key")), keyA);
    await assert.rejects(() => readMasterKeyFile(join(dir, "bad.key")), CryptoError);
    await assert.rejects(() => readMasterKeyFile(join(dir, "none.key")), NotFoundError);

    const target = join(dir, "srv");
    assert.equal(await applyMasterKey(target, "install", keyA), null);
    assert.equal(readFileSync(masterKeyPath(target), "utf8"), keyA);
    assert.equal(statSync(masterKeyPath(target)).mode & 0o777, 0o600);
    assert.equal(await applyMasterKey(target, "compare", keyA), null);
    await assert.rejects(() => applyMasterKey(target, "compare", keyB), ExistsError);
    assert.equal(readFileSync(masterKeyPath(target), "utf8"), keyA, "a differing key is not replaced");
    // Secrets sealed with A, restored from an archive without its key: B is refused, not installed.
    const sealed = join(dir, "sealed");
    mkdirSync(join(sealed, "secrets/app"), { recursive: true });
    writeFileSync(
      join(sealed, "secrets/app/token"),
      await encodeSecretFile(new Uint8Array(32).fill(1), "app/token", new Uint8Array([1])),
    );
    await assert.rejects(() => applyMasterKey(sealed, "install", keyB), (err: unknown) => {
      assert.ok(err instanceof CryptoError, String(err));
      assert.match(
        err.message,
        /^--master-key: not the key the archive's secrets are sealed with \(.*app\/token has key id [0-9a-f]{16}, the given key [0-9a-f]{16}\)/,
      );
      return true;
    });
    assert.equal(statSync(masterKeyPath(sealed), { throwIfNoEntry: false }), undefined, "B was installed");
    assert.equal(await applyMasterKey(sealed, "install", keyA), null);
    const other = join(dir, "other");
    mkdirSync(other);
    assert.match(
      (await applyMasterKey(other, "warn_missing", undefined))!,
      /--exclude-master-key: .*--master-key FILE/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
