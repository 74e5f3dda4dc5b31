/**
 * Encrypted archives: what `--encrypt` costs and how it compares with what an operator would
 * otherwise run. Same generated server tree (a 1 GiB × scale database plus small files) for every row:
 *
 * - `backup create --encrypt` vs `backup create` (target: encryption adds ≤ 10 % wall time);
 * - `backup create --encrypt` vs `sqlite3 .backup && tar cf - … | pigz -6 | age -r <X25519 recipient>`
 *   (`age -p` insists on a terminal for its passphrase, so the recipient mode stands in: same
 *   ChaCha20-Poly1305 STREAM payload, without the scrypt step — which flatters age by ~1 s);
 * - reading an encrypted archive (`backup verify`, `backup restore`) vs `age -d | pigz -d | tar x`;
 * - decryption alone in MB/s (lib/crypto in this process vs `age -d`), and AES-256-GCM throughput of
 *   WebCrypto (the hot path) vs @noble/ciphers (the test reference).
 */
import { gcm } from "@noble/ciphers/aes.js";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { decryptingStream, encryptingStream } from "../lib/crypto/envelope.ts";
import {
  type BenchContext,
  type BenchRow,
  exists,
  freshFileSystem,
  measureShell,
  PREFAULT,
  ratioGoal,
  sh,
} from "./bench_lib.ts";

const PASSWORD = "bench password, not a secret";
const MB = 1e6;

/** Runs the crypto benchmarks. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = `${ctx.workDir}/crypto`;
  const root = `${dir}/srv`;
  if (!await exists(`${root}/server.yaml`)) {
    await makeServerTree(root, Math.max(4, Math.round(1024 * ctx.scale)));
  }
  const out = `${dir}/out`;
  await Deno.mkdir(out, { recursive: true });
  const vigo = ctx.vigocli.map(sh).join(" ");
  const common = `--server-root ${sh(root)} --server-yaml ${sh(`${root}/server.yaml`)}`;
  const env = { ...Deno.env.toObject(), VIGO_BACKUP_PASSWORD: PASSWORD };
  const identity = await ageIdentity(dir);

  const archive = `${out}/enc.tar.gz`;
  const ageFile = `${out}/age.tar.gz.age`;
  const dbCopy = `${out}/vigo.db`;
  // Every timed command starts after an untimed removal of its previous output and a sync.
  const fresh = (path: string) => `rm -f ${sh(path)} ${sh(`${path}.sha256`)}`;
  const plain = () =>
    measureShell(
      `${vigo} backup create ${common} ${sh(`${out}/plain.tar.gz`)}`,
      env,
      fresh(`${out}/plain.tar.gz`),
    );
  const encrypted = () =>
    measureShell(`${vigo} backup create --encrypt ${common} ${sh(archive)}`, env, fresh(archive));
  const agePipe = () =>
    measureShell(
      `sqlite3 ${sh(`${root}/db/vigo.db`)} ".backup ${dbCopy}" && ` +
        `tar cf - -C ${sh(root)} stacks secrets tls server.yaml -C ${sh(out)} vigo.db | pigz -6 ` +
        `| age -r ${identity.recipient} > ${sh(ageFile)} && rm ${sh(dbCopy)}`,
      undefined,
      `rm -f ${sh(ageFile)}`,
    );
  // Interleaved, one of each per run (main.ts repeats the runs).
  const times = {
    plain: (await plain()).seconds,
    encrypted: (await encrypted()).seconds,
    age: (await agePipe()).seconds,
  };
  // Both restores write into new directories of a fresh file system (bench_lib.ts, freshFileSystem).
  const gib = 1024 ** 3;
  const fs = await freshFileSystem(ctx.workDir, "crypto-restores", 4 * gib * ctx.scale + 2 * gib);
  if ((ctx.run ?? 0) === 0) console.error(`bench: crypto restores write to ${fs.kind}`);
  let reads: { verify: number; restore: number; age: number; ageSync: number };
  try {
    const [ours, peer, peerSync] = [`${fs.dir}/ours`, `${fs.dir}/age`, `${fs.dir}/age-sync`];
    const ageInto = (dir: string) =>
      `age -d -i ${sh(identity.keyFile)} ${sh(ageFile)} | pigz -d | tar xf - -C ${sh(dir)}`;
    // Each read starts with the memory it will fill backed by the VM (bench_lib.ts, PREFAULT).
    reads = {
      verify: (await measureShell(`${vigo} backup verify ${sh(archive)}`, env, PREFAULT)).seconds,
      restore:
        (await measureShell(`${vigo} backup restore ${sh(archive)} --target ${sh(ours)}`, env, PREFAULT))
          .seconds,
      age: (await measureShell(ageInto(peer), undefined, `mkdir ${sh(peer)} && ${PREFAULT}`)).seconds,
      // The peer leaves its writes in the page cache; ours ends durable (syncfs). Same work, for context:
      ageSync: (await measureShell(
        `${ageInto(peerSync)} && sync`,
        undefined,
        `mkdir ${sh(peerSync)} && ${PREFAULT}`,
      ))
        .seconds,
    };
  } finally {
    await fs.close();
  }

  const size = (await Deno.stat(archive)).size;
  const ours = await decryptFile(archive);
  const ageSeconds =
    (await measureShell(`age -d -i ${sh(identity.keyFile)} ${sh(ageFile)} > /dev/null`)).seconds;
  const ageSize = (await Deno.stat(ageFile)).size;
  const gcmBytes = Math.max(16, Math.round(256 * ctx.scale)) * 1024 * 1024;
  const sizeLabel = `${(1024 * ctx.scale).toFixed(0)} MiB DB`;

  return [
    {
      name: `create --encrypt vs create, ${sizeLabel}`,
      ours: times.encrypted,
      peer: times.plain,
      peerName: "vigocli backup create (no encryption)",
      unit: "s",
      target: "≤ 1.10×",
      met: times.encrypted <= 1.1 * times.plain,
    },
    {
      name: `create --encrypt, ${sizeLabel}`,
      ours: times.encrypted,
      peer: times.age,
      peerName: "sqlite3 .backup && tar | pigz -6 | age -r X25519",
      unit: "s",
    },
    {
      name: `read an encrypted archive: backup verify, ${sizeLabel}`,
      ours: reads.verify,
      peer: reads.age,
      peerName: "age -d | pigz -d | tar x",
      unit: "s",
      ...ratioGoal(1.0),
    },
    {
      name: `read an encrypted archive: backup restore, ${sizeLabel}`,
      ours: reads.restore,
      peer: reads.age,
      peerName: "age -d | pigz -d | tar x",
      unit: "s",
      ...ratioGoal(1.0),
    },
    {
      name: `read an encrypted archive: backup restore, ${sizeLabel}`,
      ours: reads.restore,
      peer: reads.ageSync,
      peerName: "age -d | pigz -d | tar x && sync (durable, as ours)",
      unit: "s",
    },
    {
      name: `decrypt only, after key derivation (${(size / MB).toFixed(0)} MB archive)`,
      ours: size / MB / ours.payload,
      peer: ageSize / MB / ageSeconds,
      peerName: "age -d (ChaCha20-Poly1305)",
      unit: "MB/s",
    },
    {
      name: "Argon2id key derivation, m = 64 MiB, t = 3, p = 4 (once per archive)",
      ours: ours.kdf,
      unit: "s",
    },
    await encryptThroughput(gcmBytes),
    await gcmThroughput(Math.min(gcmBytes, 64 * 1024 * 1024)),
  ];
}

/** A server root: a generated SQLite database of `mib` MiB plus stacks/, secrets/, tls/, server.yaml. */
async function makeServerTree(root: string, mib: number): Promise<void> {
  for (const d of ["db", "stacks/configcrates", "stacks/roles", "secrets", "tls"]) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  await Deno.writeTextFile(`${root}/server.yaml`, "database:\n  driver: sqlite\n  path: db/vigo.db\n");
  for (let i = 0; i < 200; i++) {
    await Deno.writeTextFile(`${root}/stacks/configcrates/crate${i}.vgo`, `name: crate${i}\n`.repeat(100));
  }
  await Deno.writeTextFile(`${root}/tls/ca.pem`, "-----BEGIN CERTIFICATE-----\n...\n");
  // create refuses a tree without the master key (the archive could not open its own secrets).
  await Deno.writeFile(`${root}/secrets/.master.key`, crypto.getRandomValues(new Uint8Array(32)), {
    mode: 0o600,
  });
  // ~1 KiB rows of hex (compresses about 2:1, like real mixed content, rather than 1000:1 or 1:1).
  const rows = Math.round((mib * 1024 * 1024) / 1100);
  const sql = "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT);" +
    `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ${rows}) ` +
    "INSERT INTO t SELECT i, hex(randomblob(500)) || ' host-' || i FROM c;";
  const res = await new Deno.Command("sqlite3", { args: [`${root}/db/vigo.db`, sql], stdout: "null" })
    .output();
  if (!res.success) throw new Error(`sqlite3 failed: ${new TextDecoder().decode(res.stderr)}`);
}

async function ageIdentity(dir: string): Promise<{ keyFile: string; recipient: string }> {
  const keyFile = `${dir}/age.key`;
  await Deno.remove(keyFile).catch(() => {}); // age-keygen refuses to overwrite the previous run's key
  const res = await new Deno.Command("age-keygen", { args: ["-o", keyFile], stderr: "piped" }).output();
  const recipient = new TextDecoder().decode(res.stderr).match(/age1[0-9a-z]+/)?.[0];
  if (!res.success || !recipient) throw new Error("age-keygen failed");
  return { keyFile, recipient };
}

/**
 * Reads and decrypts `path` completely, plaintext discarded: seconds spent on Argon2id (until the
 * header authenticated) and on the payload after it.
 */
async function decryptFile(path: string): Promise<{ kdf: number; payload: number }> {
  const start = performance.now();
  let keyed = start;
  // 1 MiB reads: a 64 KiB reader without read-ahead halves the figure (measured 190-290 vs 560-600 MB/s).
  const sealed = Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) as ReadableStream<
    Uint8Array
  >;
  const stream = decryptingStream(PASSWORD, { onHeader: () => (keyed = performance.now()) });
  for await (const _ of sealed.pipeThrough(stream)) { /* discard */ }
  return { kdf: (keyed - start) / 1000, payload: (performance.now() - keyed) / 1000 };
}

/** encryptingStream over in-memory data (no disk, no gzip), Argon2id excluded. */
async function encryptThroughput(bytes: number): Promise<BenchRow> {
  const piece = new Uint8Array(256 * 1024).fill(7);
  const stream = await encryptingStream(PASSWORD, { argon2id: { m: 64, t: 1, p: 1 } });
  const start = performance.now();
  const source = ReadableStream.from((function* () {
    for (let off = 0; off < bytes; off += piece.length) yield piece;
  })());
  for await (const _ of source.pipeThrough(stream)) { /* discard */ }
  const seconds = (performance.now() - start) / 1000;
  return { name: "encryptingStream alone, 64 KiB chunks", ours: bytes / MB / seconds, unit: "MB/s" };
}

/** Raw AES-256-GCM: WebCrypto with 8 chunks in flight vs @noble/ciphers, 64 KiB chunks. */
async function gcmThroughput(bytes: number): Promise<BenchRow> {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const chunk = new Uint8Array(65536);
  const count = Math.ceil(bytes / chunk.length);
  const iv = (i: number) => {
    const n = new Uint8Array(12);
    new DataView(n.buffer).setUint32(8, i);
    return n;
  };
  const webKey = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
  let start = performance.now();
  const inFlight: Promise<ArrayBuffer>[] = [];
  for (let i = 0; i < count; i++) {
    inFlight.push(crypto.subtle.encrypt({ name: "AES-GCM", iv: iv(i) }, webKey, chunk));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const web = (performance.now() - start) / 1000;
  start = performance.now();
  for (let i = 0; i < count; i++) gcm(key, iv(i)).encrypt(chunk);
  const noble = (performance.now() - start) / 1000;
  const total = count * chunk.length / MB;
  return {
    name: "AES-256-GCM seal, 64 KiB chunks",
    ours: total / web,
    peer: total / noble,
    peerName: "@noble/ciphers gcm (test reference)",
    unit: "MB/s",
  };
}
