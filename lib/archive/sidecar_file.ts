/** Reads the `.sha256` sidecar beside a local archive (sha256sum's line, as file_sink.ts writes it). */
import { readFile } from "node:fs/promises";
import { BadInputError, toVigoError } from "../errors.ts";
import { removingFile } from "../fsutil/left_temp.ts";

/** The hash a `.sha256` sidecar next to `path` records, or null when there is none. */
export async function readSidecar(path: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(`${path}.sha256`, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw toVigoError(err, `${path}.sha256`);
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
