/**
 * What a backend folder (lib/backend/{file,s3,gcs,sftp}/) tells the rest of the program about
 * itself. The registry (lib/backends.ts) lists one descriptor per scheme; config parsing, URL
 * parsing and the CLI ask it instead of spelling the schemes out, so a new backend is one new
 * folder plus one line in the registry.
 */
import type { Backend } from "./backend.ts";

/**
 * server.yaml's `backup:` section as a backend's `parseConfig` reads it. The YAML, line numbers,
 * `secret:` references and warnings stay with lib/config; the backend only names its keys.
 */
export interface BackupOptionSource {
  /** A string option; an empty string is refused. */
  string(key: string): string | undefined;
  /** A yes/no option. */
  boolean(key: string): boolean | undefined;
  /** A local file path: `~/` is the home directory, a relative path resolves against the server root. */
  path(key: string): string | undefined;
  /**
   * A credential: plain text or a `secret:NAME` reference that the loader replaces by the secret's
   * value in the parsed config's `field`. Plain text draws a warning unless `plainTextOk` (a key
   * id is an identifier, not a secret).
   */
  secret(key: string, field: string, opts?: { plainTextOk?: boolean }): string | undefined;
  /** A ConfigError naming the file, the key and its line. */
  error(key: string, problem: string): Error;
}

/** One backend, as the registry sees it. `C` is its own settings type, tagged with its scheme. */
export interface BackendDescriptor<C extends { readonly scheme: string } = { readonly scheme: string }> {
  /** The URL scheme without `://`. */
  readonly scheme: C["scheme"];
  /** The `backup:` keys this backend reads; any other destination key draws a "not used" warning. */
  readonly optionKeys: readonly string[];
  /** Its settings from the `backup:` section; with no section at all every option is absent. */
  parseConfig(src: BackupOptionSource): C;
  /** `url` without credentials, for messages. */
  redact(url: string): string;
  /**
   * `url` as the backend names its root, after the checks `open` makes of it (no I/O), so that a
   * configured URL is refused where it is written; a ConfigError naming `url` when it names nothing.
   */
  checkUrl(url: string): string;
  /** Opens the backend `url` names (plain: the registry adds the retry decorator). */
  open(url: string, cfg: C): Promise<Backend>;
  /** True when a failed request may succeed if sent again (the retry decorator's rule). */
  isRetryable(err: unknown): boolean;
  /**
   * True when, under Bun, its opened backend writes a download into the file without running JavaScript
   * over its bytes ({@link Backend.getInto}): `backup download` then runs without the JIT.
   */
  readonly downloadsNatively?: true;
}
