/**
 * Processes we start (crate pre/post commands, `sync`, `--password-command`, an AWS profile's
 * `credential_process`) must not inherit the variables through which
 * vigocli itself receives secrets: a hook script has no use for the archive password or the replica's
 * secret key, and a child's environment is readable in /proc and often logged by the scripts it runs.
 *
 * The variables are removed by starting the child through `env -u NAME…`, not by passing a filtered
 * environment: Deno's node:child_process merges a given `env` into the parent's instead of replacing
 * it (seen with Deno 2.9: a variable left out of `env` still reached the child; Bun replaces it), so
 * only removal in the child itself works in every runtime. Only the names appear in its argv.
 */

/** Environment variables that carry secrets to vigocli; never passed on to a child process. */
export const SECRET_ENV_VARS: readonly string[] = [
  "VIGO_BACKUP_PASSWORD",
  "LITESTREAM_ACCESS_KEY_ID",
  "LITESTREAM_SECRET_ACCESS_KEY",
];

/** The program and arguments that run `file ARGS…` without {@link SECRET_ENV_VARS} in its environment. */
export function withoutSecretEnv(file: string, args: string[]): [string, string[]] {
  return ["/usr/bin/env", [...SECRET_ENV_VARS.flatMap((name) => ["-u", name]), file, ...args]];
}
