/**
 * What a local file is, judged from its first bytes: a plain archive (gzip magic) or an encrypted one
 * (the encryption module, loaded only for non-gzip input, recognises its header). Apart from
 * archive_source.ts so that `backup upload` and `list --remote`, which only ask this, load no gunzip or
 * tar code (README, Design: "Transfers load only the code they run").
 */
import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { toVigoError } from "../errors.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";

/** Archive kind judged from the first bytes of a file. */
export type ArchiveKind = "gzip" | "encrypted" | "unknown";

/** Judges a file's first bytes; loads the encryption module only for non-gzip input. */
export async function detectArchiveKind(first: Uint8Array): Promise<ArchiveKind> {
  if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) return "gzip";
  try {
    const envelope = await import("../crypto/envelope.ts");
    return envelope.isEncryptedHeader(first) ? "encrypted" : "unknown";
  } catch {
    return "unknown";
  }
}

/** Reads the first `n` bytes of a file. */
export async function readHead(path: string, n = 64): Promise<Uint8Array> {
  let fh: FileHandle | undefined;
  requireRegularFile(path, "archive");
  try {
    fh = await open(path, "r");
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } catch (err) {
    throw toVigoError(err, path);
  } finally {
    await fh?.close();
  }
}
