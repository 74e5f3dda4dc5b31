/**
 * Removal whose failure names what it could not remove: rm's own error says only "EACCES: permission
 * denied, rm" or the like, which tells an operator nothing about which file.
 */
import { rm } from "node:fs/promises";
import { toVigoError } from "../errors.ts";

/** Removes `path` (with what is in it, when `recursive`) if it is there; throws an error naming it. */
export async function removeNamed(path: string, recursive = false): Promise<void> {
  try {
    await rm(path, { recursive, force: true });
  } catch (err) {
    throw toVigoError(err, path);
  }
}
