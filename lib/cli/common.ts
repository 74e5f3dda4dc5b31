import { type Command, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { UsageError } from "../errors.ts";

/** Default location of server.yaml, as in the product spec. */
export const DEFAULT_SERVER_YAML = "/srv/vigo/server.yaml";
/** Default server root, as in the product spec. */
export const DEFAULT_SERVER_ROOT = "/srv/vigo";

/** `--server-yaml PATH`, shared by every command that reads server.yaml. */
export function serverYamlOption() {
  return new Option(
    "--server-yaml <path>",
    "path to server.yaml (with only --server-root: <root>/server.yaml)",
  )
    .default(DEFAULT_SERVER_YAML)
    .env("VIGO_SERVER_YAML");
}

/** `--server-root DIR`, shared by every command that reads the server tree. */
export function serverRootOption() {
  return new Option(
    "--server-root <dir>",
    "root directory containing stacks/, secrets/, tls/ (alias --target)",
  )
    .default(DEFAULT_SERVER_ROOT)
    .env("VIGO_SERVER_ROOT");
}

/**
 * `--target` and `--server-root` name the same directory on every command: restore keeps the spec's
 * `--target` (with a hidden `--server-root`), the others `--server-root` (with a hidden `--target`).
 * Adds the hidden twin to `cmd` when it has one of the two; {@link applyRootAlias} copies it over.
 */
export function addRootAlias(cmd: Command): void {
  const has = (attr: string) => cmd.options.some((o) => o.attributeName() === attr);
  if (has("serverRoot") && !has("target")) {
    cmd.addOption(new Option("--target <dir>", "same as --server-root").hideHelp());
  } else if (has("target") && !has("serverRoot")) {
    cmd.addOption(new Option("--server-root <dir>", "same as --target").hideHelp());
  }
}

/** Before an action: the hidden twin's value, when given, becomes the visible option's (see above). */
export function applyRootAlias(cmd: CommandUnknownOpts): void {
  const [visible, hidden] = cmd.options.some((o) => o.attributeName() === "serverRoot" && !o.hidden)
    ? ["serverRoot", "target"]
    : ["target", "serverRoot"];
  if (cmd.getOptionValueSource(hidden) !== "cli") return;
  if (cmd.getOptionValueSource(visible) === "cli") {
    throw new UsageError("--target and --server-root name the same directory: give one of them");
  }
  cmd.setOptionValueWithSource(visible, cmd.getOptionValue(hidden), "cli");
}

/** `--json`: machine-readable output on stdout. */
export function jsonOption() {
  return new Option("--json", "print machine-readable JSON on stdout");
}

/**
 * `--password-file FILE`, its help naming the sources after it (password.ts reads them, in that order):
 * the two variables worked without --help showing them anywhere.
 */
export function passwordFileOption(what: string) {
  return new Option(
    "--password-file <file>",
    `${what} (else --password-command, then env: VIGO_BACKUP_PASSWORD_FILE, VIGO_BACKUP_PASSWORD, then a prompt)`,
  );
}

/** `--password-command CMD`: the archive password is what CMD prints (run without a shell). */
export function passwordCommandOption() {
  return new Option(
    "--password-command <cmd>",
    "run CMD (split into words, no shell) and use what it prints as the password",
  );
}
