/**
 * `--credentials-file FILE` for the commands a fresh host runs before its secrets store is back
 * (restore URL, download, upload, list --remote, replica restore/list): the file and the environment become
 * a source of lib/config/credentials.ts (for S3: the first of the credential chain).
 */
import { Option } from "@commander-js/extra-typings";
import { warn } from "./output.ts";
import type { CredentialSources } from "../config/credentials.ts";

/** `--credentials-file FILE`. */
export function credentialsFileOption() {
  return new Option(
    "--credentials-file <file>",
    "backend credentials when server.yaml's secret: values cannot be read yet (fresh host): " +
      "access_key_id/secret_access_key, key_path, known_hosts_path, endpoint… (see the disaster-recovery guide)",
  );
}

/** The sources for `--credentials-file` (may be undefined: then none). */
export async function credentialSources(file: string | undefined): Promise<CredentialSources> {
  if (file === undefined) return {};
  const { loadCredentialsFile } = await import("../config/credentials.ts");
  const { source, warnings } = await loadCredentialsFile(file);
  for (const w of warnings) warn(w);
  return { file: source };
}
