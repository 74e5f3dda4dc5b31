/**
 * Reads a whole archive once and checks it: manifest.json first, every tar entry listed in the
 * manifest with the same type, mode, mtime, size, link target and SHA-256, nothing missing, nothing extra,
 * paths that stay inside a target, and the raw bytes against the `.sha256` sidecar. A visitor may
 * take each file's data as it streams (restore writes it to a staging directory, verify keeps the
 * database); nothing is trusted until {@link scanArchive} returns.
 */
import { createHash } from "node:crypto";
import { BadInputError } from "../errors.ts";
import { MAX_OCTAL_12, type TarHeader } from "../codec/tar/tar_format.ts";
import type { TarReader } from "../codec/tar/tar_reader.ts";
import { openArchive, type OpenArchiveOptions } from "./archive_source.ts";
import { readSidecar } from "./sidecar_file.ts";
import {
  checkArchivePath,
  checkLinkTarget,
  type Manifest,
  MANIFEST_PATH,
  type ManifestEntry,
  modeString,
  parseManifest,
} from "./manifest.ts";
import { checkArchiveShape } from "./archive_shape.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";
import { namingArchive } from "./archive_errors.ts";

/** A checksum or listing mismatch: the archive is damaged or was altered. */
export class IntegrityError extends BadInputError {}

/** Largest manifest accepted (a tree of 10^6 entries is ~200 MiB of JSON; refuse beyond that). */
const MAX_MANIFEST = 256 * 1024 * 1024;

/** Receives one file's data. */
export interface EntrySink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Releases what the sink holds when the entry's data failed (close is then never called). */
  abort?(): Promise<void>;
}

/** Called for each entry after its header matched the manifest. */
export type EntryVisitor = (entry: ManifestEntry, header: TarHeader) => Promise<EntrySink | undefined>;

/** Outcome of a full scan. */
export interface ScanResult {
  manifest: Manifest;
  encrypted: boolean;
  /** "ok" when the sidecar matched, "absent" when there was none. */
  sidecar: "ok" | "absent";
  archiveSha256: string;
  archiveBytes: number;
}

/** Reads the first entry, which must be manifest.json, and validates it. */
export async function readManifestEntry(tar: TarReader): Promise<Manifest> {
  return (await readManifestWithText(tar)).manifest;
}

/** Like {@link readManifestEntry}, also returning the manifest's text exactly as archived. */
export function readManifestWithText(tar: TarReader): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  // Named as the reader names its own (an opened archive's reader names the archive).
  return manifestWithText(tar).catch((err) => {
    throw tar.nameError(err);
  });
}

async function manifestWithText(tar: TarReader): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  const first = await tar.next();
  if (!first || first.header.path !== MANIFEST_PATH || first.header.type !== "file") {
    throw new BadInputError("archive does not start with manifest.json");
  }
  if (first.header.size > MAX_MANIFEST) throw new BadInputError("manifest.json is implausibly large");
  const buf = new Uint8Array(first.header.size);
  let off = 0;
  for await (const chunk of first.body()) {
    buf.set(chunk, off);
    off += chunk.length;
  }
  return { manifest: parseManifest(buf), bytes: buf };
}

/** Reads and checks the whole archive at `path`, handing file data to `visit`. */
export async function scanArchive(
  path: string,
  opts: OpenArchiveOptions & { requireSidecar?: boolean },
  visit?: EntryVisitor,
): Promise<ScanResult> {
  requireRegularFile(path, "archive");
  const expected = readSidecar(path);
  if (expected === null && opts.requireSidecar) {
    throw new IntegrityError(`${path}.sha256: sidecar is missing`);
  }
  const archive = await openArchive(path, { ...opts, hashRaw: true });
  try {
    const manifest = await readManifestEntry(archive.tar);
    // verify and restore (and restore --dry-run) accept one shape, checked before any entry is read.
    checkArchiveShape(path, manifest);
    if (manifest.database.integrity_check !== "ok") {
      throw new IntegrityError(`${path}: the archived database failed integrity_check when it was made`);
    }
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    const seen = new Set<string>();
    for (;;) {
      const entry = await archive.tar.next();
      if (!entry) break;
      const h = entry.header;
      checkArchivePath(h.path);
      if (h.type === "symlink") checkLinkTarget(h.path, h.linkname ?? "");
      const m = byPath.get(h.path);
      if (!m) throw new IntegrityError(`archive entry ${h.path} is not listed in the manifest`);
      if (seen.has(h.path)) throw new IntegrityError(`archive holds ${h.path} twice`);
      seen.add(h.path);
      checkHeaderMatches(h, m);
      const sink = await visit?.(m, h);
      const hash = createHash("sha256");
      let size = 0;
      try {
        for await (const chunk of entry.body()) {
          hash.update(chunk);
          size += chunk.length;
          if (sink) await sink.write(chunk);
        }
      } catch (err) {
        // The entry's failure is what the caller needs to see, not one in releasing the sink.
        await sink?.abort?.().catch(() => {});
        throw err;
      }
      if (sink) await sink.close();
      if (m.type === "file" && (size !== m.size || hash.digest("hex") !== m.sha256)) {
        throw new IntegrityError(`${path}: ${h.path} does not match its SHA-256 in the manifest`);
      }
    }
    const missing = manifest.entries.filter((e) => !seen.has(e.path));
    if (missing.length > 0) {
      throw new IntegrityError(`${path}: archive lacks ${missing[0].path}, listed in the manifest`);
    }
    await archive.tar.drain();
    const archiveSha256 = archive.rawSha256();
    if (expected !== null && expected !== archiveSha256) {
      throw new IntegrityError(`${path}: SHA-256 does not match ${path}.sha256`);
    }
    return {
      manifest,
      encrypted: archive.encrypted,
      sidecar: expected === null ? "absent" : "ok",
      archiveSha256,
      archiveBytes: archive.rawBytes(),
    };
  } catch (err) {
    throw namingArchive(err, path);
  } finally {
    await archive.close();
  }
}

/**
 * Whether the tar holds the stand-in that archives written before pax carried mtime have: a time before
 * 1970 as 0, one past the 12-byte octal field (year 2242) as its largest value, true time in the
 * manifest only. Refusing them would leave such archives unrestorable.
 */
function isClampedMtime(tar: number, manifest: number): boolean {
  return Number.isSafeInteger(manifest) &&
    ((manifest < 0 && tar === 0) || (manifest > MAX_OCTAL_12 && tar === MAX_OCTAL_12));
}

function checkHeaderMatches(h: TarHeader, m: ManifestEntry): void {
  const mismatch = (what: string) =>
    new IntegrityError(`archive entry ${h.path}: ${what} differs from the manifest`);
  if (h.type !== m.type) throw mismatch("type");
  if (modeString(h.mode) !== m.mode.padStart(4, "0")) throw mismatch("mode");
  if (h.mtime !== m.mtime) {
    if (!isClampedMtime(h.mtime, m.mtime)) throw mismatch("mtime");
    // what restore applies: the manifest kept the time such an archive's tar lost
    h.mtime = m.mtime;
  }
  if (h.type === "file" && h.size !== m.size) throw mismatch("size");
  if (h.type === "symlink" && h.linkname !== m.target) throw mismatch("link target");
}
