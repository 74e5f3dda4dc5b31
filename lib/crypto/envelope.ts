/**
 * The encrypted archive envelope as web streams (docs/encryption-format.md): `encryptingStream`
 * turns any byte stream into header + sealed chunks, `decryptingStream` checks and opens them.
 * Several chunks are sealed or opened concurrently (WebCrypto AES-GCM runs off the JS thread), but
 * output is released strictly in order and only after each chunk's tag has verified.
 */
import { CryptoError } from "../errors.ts";
import { ByteQueue } from "../codec/byte_queue.ts";
import {
  type Argon2idParams,
  assembleHeader,
  chunkAad,
  chunkNonce,
  DEFAULT_ARGON2ID,
  DEFAULT_CHUNK_EXPONENT,
  encodeMacInput,
  hasMagic,
  HEADER_LENGTH,
  type HeaderFields,
  MAGIC,
  NONCE_PREFIX_LENGTH,
  parseHeader,
  SALT_LENGTH,
  TAG_LENGTH,
} from "./format.ts";
import { deriveEnvelopeKeys, type EnvelopeKeys, headerMac, verifyHeaderMac } from "./keys.ts";
import { DEFAULT_KDF_CAP, type KdfCap, requireKdfWithinCap } from "./kdf_cap.ts";

/** Chunks sealed or opened concurrently by default: enough to keep WebCrypto busy (see docs/guide/crypto.md). */
export const DEFAULT_IN_FLIGHT = 8;

/** Number of leading bytes {@link isEncryptedHeader} needs. */
export const MAGIC_LENGTH: number = MAGIC.length;

/** Knobs for tests, vectors and benchmarks; production callers pass none. */
export interface EncryptOptions {
  /** Argon2id cost (default m = 64 MiB, t = 3, p = 4). */
  argon2id?: Argon2idParams;
  /** Plaintext chunk size exponent (default 16 = 64 KiB). */
  chunkExponent?: number;
  /** Fixed salt instead of a random one (test vectors only). */
  salt?: Uint8Array;
  /** Fixed nonce prefix instead of a random one (test vectors only). */
  noncePrefix?: Uint8Array;
  /** Chunks in flight at once (default {@link DEFAULT_IN_FLIGHT}). */
  inFlight?: number;
}

/** Knobs for {@link decryptingStream}. */
export interface DecryptOptions {
  /** Chunks in flight at once (default {@link DEFAULT_IN_FLIGHT}). */
  inFlight?: number;
  /** Called once the header has authenticated, with its parameters. */
  onHeader?: (fields: HeaderFields) => void;
  /** Refuse headers costing more than this before deriving anything (default {@link DEFAULT_KDF_CAP}). */
  kdfCap?: KdfCap;
  /** Names the input in errors (e.g. the archive path). */
  source?: string;
}

/** True when `first` (the first {@link MAGIC_LENGTH} or more bytes of a file) starts with our magic. */
export function isEncryptedHeader(first: Uint8Array): boolean {
  return hasMagic(first);
}

/**
 * Derives the keys (Argon2id, then HKDF) and returns a stream that emits the header followed by the
 * sealed chunks of everything written to it. Resolves once the key is derived.
 */
export async function encryptingStream(
  password: string,
  opts: EncryptOptions = {},
): Promise<TransformStream<Uint8Array, Uint8Array>> {
  requirePassword(password);
  const fields: HeaderFields = {
    kdf: opts.argon2id ?? { ...DEFAULT_ARGON2ID },
    chunkExponent: opts.chunkExponent ?? DEFAULT_CHUNK_EXPONENT,
    salt: opts.salt ?? crypto.getRandomValues(new Uint8Array(SALT_LENGTH)),
    noncePrefix: opts.noncePrefix ?? crypto.getRandomValues(new Uint8Array(NONCE_PREFIX_LENGTH)),
  };
  const macInput = encodeMacInput(fields);
  const keys = await deriveEnvelopeKeys(password, fields.salt, fields.kdf);
  const header = assembleHeader(macInput, await headerMac(keys, macInput));
  const chunkSize = 2 ** fields.chunkExponent;
  const queue = new ByteQueue();
  const work = new OrderedWork(opts.inFlight ?? DEFAULT_IN_FLIGHT);
  let index = 0;
  const seal = async (plain: Uint8Array, final: boolean): Promise<Uint8Array> => {
    const params = {
      name: "AES-GCM",
      iv: chunkNonce(fields.noncePrefix, index++),
      additionalData: chunkAad(final),
    };
    return new Uint8Array(await crypto.subtle.encrypt(params, keys.payload, plain as BufferSource));
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      controller.enqueue(header);
    },
    async transform(piece, controller) {
      queue.push(piece);
      // Strictly more than one chunk queued: the chunk taken is known not to be the last one.
      while (queue.length > chunkSize) {
        work.add(seal(queue.take(chunkSize), false));
        await work.drain(controller, work.limit - 1);
      }
    },
    async flush(controller) {
      work.add(seal(queue.take(queue.length), true));
      await work.drain(controller, 0);
    },
  });
}

/**
 * A stream that reads an encrypted archive and emits its plaintext. The header is checked (and the
 * password verified) before any chunk; any failure errors the stream with a {@link CryptoError} that
 * names the check. The end of input is only known to be genuine when the stream closes without error.
 */
export function decryptingStream(
  password: string,
  opts: DecryptOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  requirePassword(password);
  const queue = new ByteQueue();
  const work = new OrderedWork(opts.inFlight ?? DEFAULT_IN_FLIGHT);
  let state: { keys: EnvelopeKeys; fields: HeaderFields; segment: number } | undefined;
  let index = 0;

  const open = async (sealed: Uint8Array, i: number, final: boolean): Promise<Uint8Array> => {
    const s = state!;
    const params = {
      name: "AES-GCM",
      iv: chunkNonce(s.fields.noncePrefix, i),
      additionalData: chunkAad(final),
    };
    return new Uint8Array(await crypto.subtle.decrypt(params, s.keys.payload, sealed as BufferSource));
  };
  const opens = (sealed: Uint8Array, i: number, final: boolean) =>
    open(sealed, i, final).then(() => true, () => false);
  const openMiddle = (sealed: Uint8Array, i: number): Promise<Uint8Array> =>
    open(sealed, i, false).catch(async () => {
      // Only the failure path pays for the second try that tells appended data from corruption.
      if (await opens(sealed, i, true)) throw new CryptoError(`trailing data after the final chunk ${i}`);
      throw new CryptoError(`chunk ${i} failed authentication (archive corrupted or tampered with)`);
    });

  return new TransformStream<Uint8Array, Uint8Array>(namingSource(opts.source, {
    async transform(piece, controller) {
      queue.push(piece);
      if (!state) {
        if (queue.length < HEADER_LENGTH) return;
        state = await readHeader(password, queue.take(HEADER_LENGTH), opts);
        opts.onHeader?.(state.fields);
      }
      while (queue.length > state.segment) {
        work.add(openMiddle(queue.take(state.segment), index++));
        await work.drain(controller, work.limit - 1);
      }
    },
    async flush(controller) {
      if (!state) {
        if (queue.length === 0) throw new CryptoError("not an encrypted vigocli archive (empty input)");
        parseHeader(queue.take(queue.length)); // throws: bad magic, or truncated inside the header
        throw new CryptoError("encrypted archive truncated inside the header");
      }
      await work.drain(controller, 0);
      const rest = queue.length;
      const i = index;
      if (rest === 0 && i === 0) throw new CryptoError("truncated: no chunk after the header");
      if (rest < TAG_LENGTH) throw new CryptoError(`truncated inside chunk ${i}`);
      const sealed = queue.take(rest);
      let plain: Uint8Array;
      try {
        plain = await open(sealed, i, true);
      } catch {
        if (rest === state.segment && await opens(sealed, i, false)) {
          throw new CryptoError(`truncated: archive ends after chunk ${i}, final chunk missing`);
        }
        throw new CryptoError(
          `chunk ${i} (the last) failed authentication (archive truncated, corrupted, or with data appended)`,
        );
      }
      if (plain.length === 0 && i > 0) {
        throw new CryptoError(`chunk ${i}: empty final chunk (non-canonical archive)`);
      }
      controller.enqueue(plain);
    },
  }));
}

/** `t`, whose failures name `source` first ("SOURCE: problem", as the KDF cap's does) when it is given. */
function namingSource(source: string | undefined, t: DecryptTransformer): DecryptTransformer {
  if (source === undefined) return t;
  const named = (err: unknown) => {
    if (err instanceof CryptoError && !err.message.startsWith(`${source}: `)) {
      err.message = `${source}: ${err.message}`;
    }
    return Promise.reject(err);
  };
  return {
    transform: (piece, controller) => t.transform(piece, controller).catch(named),
    flush: (controller) => t.flush(controller).catch(named),
  };
}

/** The transformer of {@link decryptingStream}: both of its callbacks are async. */
interface DecryptTransformer {
  transform(piece: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>): Promise<void>;
  flush(controller: TransformStreamDefaultController<Uint8Array>): Promise<void>;
}

async function readHeader(password: string, header: Uint8Array, opts: DecryptOptions) {
  const parsed = parseHeader(header);
  requireKdfWithinCap(parsed.fields.kdf, opts.kdfCap ?? DEFAULT_KDF_CAP, opts.source ?? "encrypted input");
  const keys = await deriveEnvelopeKeys(password, parsed.fields.salt, parsed.fields.kdf);
  if (!await verifyHeaderMac(keys, parsed.macInput, parsed.mac)) {
    throw new CryptoError("wrong password (header authentication failed)");
  }
  return { keys, fields: parsed.fields, segment: 2 ** parsed.fields.chunkExponent + TAG_LENGTH };
}

function requirePassword(password: string): void {
  if (password.length === 0) throw new CryptoError("empty password");
}

/** Results of concurrent chunk operations, released in submission order. */
class OrderedWork {
  #pending: Promise<Uint8Array>[] = [];
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`inFlight must be ≥ 1, got ${limit}`);
  }

  add(p: Promise<Uint8Array>): void {
    // Marked as handled now: a later chunk may fail while an earlier one is still awaited.
    p.catch(() => {});
    this.#pending.push(p);
  }

  /** Awaits and enqueues results, oldest first, until at most `keep` remain pending. */
  async drain(controller: TransformStreamDefaultController<Uint8Array>, keep: number): Promise<void> {
    while (this.#pending.length > keep) controller.enqueue(await this.#pending.shift()!);
  }
}
