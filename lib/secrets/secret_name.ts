/**
 * Secret names: `vigo/backup/aws_access_key` is stored at `<root>/secrets/vigo/backup/aws_access_key`.
 * A name is one or more `/`-separated segments of `[A-Za-z0-9_][A-Za-z0-9._-]*`, so a name can
 * never climb out of secrets/ (`..`), be absolute, or collide with dot-files such as `.master.key`
 * and the temporary files of atomic writes.
 */
import { join, sep } from "node:path";
import { UsageError } from "../errors.ts";
import { TEMP_NAME_EXTRA_BYTES } from "../fsutil/atomic_file.ts";

/** Longest accepted name in bytes; far beyond any real name, short of every PATH_MAX. */
export const MAX_SECRET_NAME_LENGTH = 255;

/**
 * Longest segment in UTF-8 bytes: a secret is written under a temporary name made from its last
 * segment, which must still fit the 255-byte file-name limit (NAME_MAX), or `secret set` fails
 * with "file name too long" for a name this check let through.
 */
export const MAX_SECRET_SEGMENT_BYTES = 255 - TEMP_NAME_EXTRA_BYTES;

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why `name` is not a valid secret name, or `undefined` when it is. */
export function secretNameProblem(name: string): string | undefined {
  if (name === "") return "empty name";
  if (name.length > MAX_SECRET_NAME_LENGTH) return `longer than ${MAX_SECRET_NAME_LENGTH} characters`;
  if (name.startsWith("/")) return "absolute names are not allowed";
  for (const segment of name.split("/")) {
    if (segment === "") return "empty path segment";
    if (segment === "." || segment === "..") return `"${segment}" segments are not allowed`;
    const bytes = new TextEncoder().encode(segment).length;
    if (bytes > MAX_SECRET_SEGMENT_BYTES) {
      return `a segment is ${bytes} bytes, longer than ${MAX_SECRET_SEGMENT_BYTES}`;
    }
    if (!SEGMENT.test(segment)) {
      return `segment "${segment}" must start with a letter, digit or _ and contain only letters, digits, ".", "_", "-"`;
    }
  }
  return undefined;
}

/** Throws a {@link UsageError} unless `name` is a valid secret name. */
export function checkSecretName(name: string): string {
  const problem = secretNameProblem(name);
  if (problem) throw new UsageError(`invalid secret name ${JSON.stringify(name)}: ${problem}`);
  return name;
}

/** The file that holds secret `name` under `secretsDir` (name must be valid). */
export function secretPath(secretsDir: string, name: string): string {
  return join(secretsDir, ...checkSecretName(name).split("/"));
}

/** The secret name of a path relative to secrets/ (platform separators turned into `/`). */
export function secretNameFromRelativePath(rel: string): string {
  return rel.split(sep).join("/");
}
