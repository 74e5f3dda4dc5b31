/**
 * `vigocli secret set|get|list`: create and read the `secret:NAME` values server.yaml refers to,
 * stored encrypted under `<root>/secrets/` (docs/secrets-format.md).
 */
import { Command } from "@commander-js/extra-typings";
import { say, warn } from "./output.ts";
import { isatty } from "node:tty";
import process from "node:process";
import { toVigoError, UsageError } from "../errors.ts";
import { concatBytes } from "../bytes.ts";
import { checkSecretName } from "../secrets/secret_name.ts";
import { MAX_SECRET_BYTES } from "../secrets/secret_file.ts";
import { readFileUpTo } from "../fsutil/regular_file.ts";
import { jsonOption, serverRootOption } from "./common.ts";
import { printJson } from "./json_output.ts";
import { writeStdout } from "./stdout.ts";

/** `secret`: manage secret: values under secrets/ */
export function secretCommand(): Command {
  return new Command("secret")
    .description("manage secret: values under secrets/ (AES-256-GCM under secrets/.master.key)")
    .addCommand(setCommand())
    .addCommand(getCommand())
    .addCommand(listCommand()) as unknown as Command;
}

function setCommand() {
  return new Command("set")
    .description(
      "encrypt a value as secret NAME (read from stdin, one trailing newline dropped, or from --value-file " +
        "byte for byte); creates secrets/.master.key if absent and secrets/ holds no secrets yet (else exit 9, see --new-master-key)",
    )
    .argument("<name>", "secret name, e.g. vigo/backup/aws_access_key (/ makes subdirectories)")
    .option("--value-file <file>", "read the value from FILE exactly as stored")
    .option(
      "--new-master-key",
      "make a new secrets/.master.key even though secrets/ holds secrets sealed with the missing one " +
        "(they stay unreadable); only when that key is lost for good",
    )
    .addOption(serverRootOption())
    .action(async (name, opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { SecretStore } = await import("../secrets/secret_store.ts");
      checkSecretName(name);
      const value = opts.valueFile !== undefined ? readValueFile(opts.valueFile) : await readStdinValue();
      if (value.length === 0) throw new UsageError(`refusing to store an empty value for secret "${name}"`);
      const store = new SecretStore(opts.serverRoot);
      const { path, createdMasterKey } = await store.set(name, value, { newMasterKey: opts.newMasterKey });
      printWarnings(store.warnings);
      if (createdMasterKey) {
        process.stderr.write(
          `vigocli: created master key ${store.secretsDir}/.master.key (mode 0600): keep a copy somewhere safe, ` +
            "without it every secret is lost\n",
        );
      }
      say(`wrote secret "${name}" to ${path}`);
    });
}

function getCommand() {
  return new Command("get")
    .description("print the value of secret NAME (exactly as stored; a newline is added only on a terminal)")
    .argument("<name>", "secret name")
    .addOption(serverRootOption())
    .action(async (name, opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { SecretStore } = await import("../secrets/secret_store.ts");
      const store = new SecretStore(opts.serverRoot);
      const value = await store.getBytes(checkSecretName(name));
      printWarnings(store.warnings);
      await writeStdout(value);
      if (isatty(1)) await writeStdout(new TextEncoder().encode("\n"));
    });
}

function listCommand() {
  return new Command("list")
    .description("list secret names (never values), one per line")
    .addOption(serverRootOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { SecretStore } = await import("../secrets/secret_store.ts");
      const names = await new SecretStore(opts.serverRoot).list();
      if (opts.json) return printJson(names);
      await writeStdout(new TextEncoder().encode(names.map((n) => `${n}\n`).join("")));
    });
}

/**
 * Reads at most one byte past the limit, so /dev/zero, a FIFO or a huge file is refused after 1 MiB
 * instead of being read whole (a size from stat says nothing for devices and FIFOs).
 */
function readValueFile(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileUpTo(path, MAX_SECRET_BYTES + 1);
  } catch (err) {
    throw toVigoError(err, path);
  }
  if (bytes.length > MAX_SECRET_BYTES) throw new UsageError(`${path}: larger than ${MAX_SECRET_BYTES} bytes`);
  return bytes;
}

/** Reads all of stdin (bounded), dropping one trailing newline so `echo value |` does the obvious thing. */
async function readStdinValue(): Promise<Uint8Array> {
  if (isatty(0)) process.stderr.write("reading the secret value from stdin; end with Ctrl-D\n");
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > MAX_SECRET_BYTES + 2) {
      throw new UsageError(`stdin: value larger than ${MAX_SECRET_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const all = concatBytes(chunks);
  let end = all.length;
  if (all[end - 1] === 0x0a) end--;
  if (end < all.length && all[end - 1] === 0x0d) end--;
  if (end > MAX_SECRET_BYTES) throw new UsageError(`stdin: value larger than ${MAX_SECRET_BYTES} bytes`);
  return all.subarray(0, end);
}

function printWarnings(warnings: string[]): void {
  for (const w of warnings) warn(w);
}
