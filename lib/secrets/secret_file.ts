/**
 * The secret file format (docs/secrets-format.md), pure encode/decode with WebCrypto AES-256-GCM:
 *
 *   offset  0  4 bytes  magic "VGSC"
 *   offset  4  1 byte   version 0x01
 *   offset  5  8 bytes  key id of the master key (lib/secrets/master_key_format.ts)
 *   offset 13 12 bytes  nonce, random per write
 *   offset 25           ciphertext, then the 16-byte GCM tag
 *
 * Associated data = bytes 0..13 followed by the UTF-8 secret name, so a file copied over another
 * secret's name, or with a rewritten header, fails authentication.
 */
import { CryptoError } from "../errors.ts";
import { KEY_ID_BYTES, masterKeyId } from "./master_key_format.ts";

/** First four bytes of every secret file. */
export const SECRET_MAGIC = new Uint8Array([0x56, 0x47, 0x53, 0x43]); // "VGSC"
/** The only version this code writes and reads. */
export const SECRET_VERSION = 1;
/** AES-GCM nonce length. */
export const NONCE_BYTES = 12;
/** AES-GCM tag length. */
export const TAG_BYTES = 16;
/** Bytes before the ciphertext. */
export const HEADER_BYTES = SECRET_MAGIC.length + 1 + KEY_ID_BYTES + NONCE_BYTES;
/** Whether `bytes` begin with {@link SECRET_MAGIC}: a sealed secret, or a file that only looks like one. */
export function hasSecretMagic(bytes: Uint8Array): boolean {
  return bytes.length >= SECRET_MAGIC.length && SECRET_MAGIC.every((b, i) => bytes[i] === b);
}

/** Largest secret value accepted; secrets are keys and passwords, not files. */
export const MAX_SECRET_BYTES = 1 << 20;

const AAD_HEADER_BYTES = SECRET_MAGIC.length + 1 + KEY_ID_BYTES;

/**
 * Encrypts `value` as secret `name` under `masterKey`. `nonce` must be fresh random bytes for every
 * call (it is a parameter only so test vectors are reproducible).
 */
export async function encodeSecretFile(
  masterKey: Uint8Array,
  name: string,
  value: Uint8Array,
  nonce: Uint8Array = crypto.getRandomValues(new Uint8Array(NONCE_BYTES)),
): Promise<Uint8Array> {
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  if (value.length > MAX_SECRET_BYTES) {
    throw new RangeError(`secret value larger than ${MAX_SECRET_BYTES} bytes`);
  }
  const header = new Uint8Array(HEADER_BYTES);
  header.set(SECRET_MAGIC, 0);
  header[SECRET_MAGIC.length] = SECRET_VERSION;
  header.set(masterKeyId(masterKey), SECRET_MAGIC.length + 1);
  header.set(nonce, AAD_HEADER_BYTES);
  const key = await importKey(masterKey, "encrypt");
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: bytes(nonce),
        additionalData: bytes(associatedData(header, name)),
        tagLength: TAG_BYTES * 8,
      },
      key,
      bytes(value),
    ),
  );
  const out = new Uint8Array(HEADER_BYTES + sealed.length);
  out.set(header, 0);
  out.set(sealed, HEADER_BYTES);
  return out;
}

/**
 * Decrypts a secret file read for `name`. Every failure is a {@link CryptoError} naming `label`
 * (the file) and which check failed; the message never contains plaintext or key material.
 */
export async function decodeSecretFile(
  masterKey: Uint8Array,
  name: string,
  file: Uint8Array,
  label: string,
): Promise<Uint8Array> {
  if (file.length < HEADER_BYTES + TAG_BYTES) {
    throw new CryptoError(`${label}: not a Vigo secret file (too short: ${file.length} bytes)`);
  }
  if (!hasSecretMagic(file)) {
    throw new CryptoError(`${label}: not a Vigo secret file (bad magic)`);
  }
  const version = file[SECRET_MAGIC.length];
  if (version !== SECRET_VERSION) {
    throw new CryptoError(
      `${label}: unsupported secret file version ${version} (this build reads ${SECRET_VERSION})`,
    );
  }
  const header = file.subarray(0, HEADER_BYTES);
  const fileKeyId = header.subarray(SECRET_MAGIC.length + 1, AAD_HEADER_BYTES);
  const ourKeyId = masterKeyId(masterKey);
  if (!fileKeyId.every((b, i) => b === ourKeyId[i])) {
    throw new CryptoError(
      `${label}: encrypted under a different master key (key id ${hex(fileKeyId)}, secrets/.master.key has ${
        hex(ourKeyId)
      })`,
    );
  }
  const key = await importKey(masterKey, "decrypt");
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: bytes(header.subarray(AAD_HEADER_BYTES)),
          additionalData: bytes(associatedData(header, name)),
          tagLength: TAG_BYTES * 8,
        },
        key,
        bytes(file.subarray(HEADER_BYTES)),
      ),
    );
  } catch {
    throw new CryptoError(
      `${label}: authentication failed: the file was modified, truncated, or belongs to another secret name`,
    );
  }
}

/** The associated data: the first 13 header bytes, then the UTF-8 name. */
function associatedData(header: Uint8Array, name: string): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const aad = new Uint8Array(AAD_HEADER_BYTES + nameBytes.length);
  aad.set(header.subarray(0, AAD_HEADER_BYTES), 0);
  aad.set(nameBytes, AAD_HEADER_BYTES);
  return aad;
}

function importKey(raw: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", bytes(raw), { name: "AES-GCM" }, false, [usage]);
}

/** WebCrypto's typings want ArrayBuffer-backed views; ours always are. */
function bytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

/** `b` as lowercase hex (a key id in messages). */
export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
