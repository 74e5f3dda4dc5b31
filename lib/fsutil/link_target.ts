/**
 * A symbolic link's target as text. A target that is not valid UTF-8 cannot be carried by an archive
 * (its names and targets are UTF-8): Deno refuses to read it, Bun would quietly put U+FFFD in place of
 * the bad bytes and so archive a link to another name. Both are one refusal naming the link.
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

function notUtf8(path: string): BadInputError {
  return new BadInputError(
    `${path}: symbolic link target is not valid UTF-8; point it at a UTF-8 name (vigocli keeps UTF-8 names only)`,
  );
}
