import { Option } from "@commander-js/extra-typings";

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
    .default(DEFAULT_SERVER_YAML);
}

/** `--server-root DIR`, shared by every command that reads the server tree. */
export function serverRootOption() {
  return new Option("--server-root <dir>", "root directory containing stacks/, secrets/, tls/")
    .default(DEFAULT_SERVER_ROOT);
}

/** `--json`: machine-readable output on stdout. */
export function jsonOption() {
  return new Option("--json", "print machine-readable JSON on stdout");
}
