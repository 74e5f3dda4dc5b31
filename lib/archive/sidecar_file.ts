/** Reads the `.sha256` sidecar beside a local archive (sha256sum's line, as file_sink.ts writes it). */
import { BadInputError, NotFoundError } from "../errors.ts";
import { removingFile } from "../fsutil/left_temp.ts";
import { readSmallRegularFile } from "../fsutil/regular_file.ts";

/** Bytes a sidecar may have: one sha256sum line is ~100; a few lines more are still one archive's. */
const SIDECAR_MAX = 64 * 1024;

/** The hash a `.sha256` sidecar next to `path` records, or null when there is none. */
export function readSidecar(path: string): string | null {
  let text: string;
  try {
    text = new TextDecoder().decode(readSmallRegularFile(`${path}.sha256`, "sidecar", SIDECAR_MAX));
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
  const m = /^([0-9a-fA-F]{64})\s/.exec(text);
  if (!m) throw new BadInputError(`${path}.sha256: not a sha256sum line`);
  return m[1].toLowerCase();
}

/**
 * What the write of archive `path` that failed with `failure` once its sidecar `sidecarPath` was in
 * place throws, the sidecar removed: the failure, which stays the error when the sidecar cannot be
 * removed and then also says it is left (a sidecar without its archive, which the next create or
 * download of that name replaces).
 */
export function removingSidecar(failure: unknown, sidecarPath: string, path: string): unknown {
  return removingFile(
    failure,
    "sidecar",
    sidecarPath,
    "the next create or download of that name to replace",
    path,
  );
}
