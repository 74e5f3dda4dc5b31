/**
 * Names and symbolic link targets that are not valid UTF-8, which archives and snapshots cannot carry
 * (their names and targets are UTF-8). The runtime lists such a name with U+FFFD for the bad bytes, a
 * name that then cannot be opened; Deno refuses to read such a target, and Bun quietly puts U+FFFD in
 * place of the bad bytes, so a copy would point at another name. Each is one refusal naming the path.
 */
import { readlinkSync } from "node:fs";
import { BadInputError, toVigoError } from "../errors.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The target of the symbolic link at `path`; BadInputError (exit 4) when it is not valid UTF-8. */
export function readLinkTarget(path: string): string {
  let raw: Uint8Array;
  try {
    raw = readlinkSync(path, { encoding: "buffer" });
  } catch (err) {
    if ((err as Error).name === "InvalidData") throw notUtf8(path);
    throw toVigoError(err, path);
  }
  try {
    return UTF8.decode(raw);
  } catch {
    throw notUtf8(path);
  }
}

/**
 * Throws BadInputError (exit 4) when `name`, as the runtime listed it, holds U+FFFD: a name that was
 * not valid UTF-8 (for a caller whose lstat found nothing there, so it was not a real U+FFFD).
 */
export function refuseUndecodedName(path: string, name: string): void {
  if (name.includes("\uFFFD")) {
    throw new BadInputError(
      `${path}: file name is not valid UTF-8 (bad bytes shown as \uFFFD); rename it (vigocli keeps UTF-8 names only)`,
    );
  }
}

function notUtf8(path: string): BadInputError {
  return new BadInputError(
    `${path}: symbolic link target is not valid UTF-8; point it at a UTF-8 name (vigocli keeps UTF-8 names only)`,
  );
}
