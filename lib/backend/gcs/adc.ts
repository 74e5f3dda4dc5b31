/**
 * Google Application Default Credentials, in Google's order: the JSON file named by
 * GOOGLE_APPLICATION_CREDENTIALS (service account → RS256 JWT exchanged at its token_uri, or an
 * authorized_user refresh token), then gcloud's well-known file, then the GCE metadata server. The
 * access token is cached and refreshed ahead of expiry; concurrent callers share one refresh.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BackendError, ConfigError } from "../../errors.ts";
import type { KeysSource } from "../s3_api/bucket_url.ts";
import { TransientError } from "../retry.ts";
import { importRsaPrivateKey, signJwt } from "./jwt.ts";

/** Read/write access to objects, nothing else. */
export const GCS_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write";
/** Google's OAuth token endpoint, used when a credentials file does not name one. */
export const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

/** An OAuth access token and when it stops working (ms since the epoch). */
export interface AccessToken {
  token: string;
  expiresAt: number;
}

/** One way of obtaining access tokens. */
export interface TokenProvider {
  /** What this is, for messages (e.g. "service account x@y from /path/key.json"). */
  readonly source: string;
  fetchToken(): Promise<AccessToken>;
}

/** Where to look; defaults are the real environment. */
export interface AdcOptions {
  env: Record<string, string | undefined>;
  /** Undefined without one: there is then no ~/.config/gcloud to look in. */
  homeDir: string | undefined;
  /** How long to wait for the metadata server. Default 1500 ms (it answers in ms on GCE). */
  metadataTimeoutMs?: number;
  /** What the error says about the config's HMAC keys when nothing has credentials. */
  keys?: KeysSource;
}

/**
 * Caches a provider's token and refreshes it `marginMs` before expiry. A refresh that fails inside that
 * margin leaves the token held in use while it has a fifth of the margin to live, and is tried again
 * `retryMs` later: the token endpoint down for a minute in the last 5 of a token's hour stopped every
 * request (replication's health red, a SIGTERM then exit 7) though the token held still worked.
 */
export class CachedToken {
  private current?: AccessToken;
  private pending?: Promise<AccessToken>;
  private failedAt = -Infinity;

  constructor(
    readonly provider: TokenProvider,
    private readonly marginMs = 5 * 60_000,
    private readonly retryMs = 30_000,
  ) {}

  /** A token valid for at least the margin (or as long as the issuer allows, or the endpoint lets us). */
  async token(): Promise<string> {
    const held = this.current;
    if (held && held.expiresAt - this.marginMs > Date.now()) return held.token;
    const usable = () => held !== undefined && held.expiresAt - this.marginMs / 5 > Date.now();
    if (usable() && Date.now() - this.failedAt < this.retryMs) return held!.token;
    this.pending ??= this.provider.fetchToken().finally(() => (this.pending = undefined));
    try {
      this.current = await this.pending;
    } catch (err) {
      this.failedAt = Date.now();
      if (usable()) return held!.token;
      throw err;
    }
    return this.current.token;
  }

  /** Drops the cached token (after the API refused it). */
  invalidate(): void {
    this.current = undefined;
  }
}

/** POSTs a form to a token endpoint and reads Google's token answer. */
async function exchange(uri: string, form: Record<string, string>, what: string): Promise<AccessToken> {
  let res: Response;
  try {
    res = await fetch(uri, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new TransientError(`${what}: token endpoint ${uri} unreachable (${(err as Error).message})`);
  }
  return await readTokenAnswer(res, `${what}: token endpoint ${uri}`);
}

async function readTokenAnswer(res: Response, what: string): Promise<AccessToken> {
  const text = await res.text();
  let body: { access_token?: string; expires_in?: number; error?: string; error_description?: string } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // Reported below with the status.
  }
  if (!res.ok || !body.access_token) {
    const detail = [body.error, body.error_description].filter(Boolean).join(": ") || `HTTP ${res.status}`;
    if (res.status >= 500 || res.status === 429) throw new TransientError(`${what}: ${detail}`, res.status);
    throw new BackendError(`${what} refused the credentials: ${detail}`);
  }
  return { token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 };
}

interface CredentialsFile {
  type?: string;
  client_email?: string;
  private_key?: string;
  private_key_id?: string;
  token_uri?: string;
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
}

/** A provider for a credentials JSON file (service_account or authorized_user). */
async function providerFromFile(path: string): Promise<TokenProvider> {
  let json: CredentialsFile;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`${path}: cannot read Google credentials (${(err as Error).message})`);
  }
  // Valid JSON that is no object (`null`, `[]`, `"x"`) holds no credentials: `null` crashed below.
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    const got = json === null ? "null" : Array.isArray(json) ? "an array" : `a ${typeof json}`;
    throw new ConfigError(`${path}: not a Google credentials file (a JSON object was expected, got ${got})`);
  }
  const tokenUri = json.token_uri ?? GOOGLE_TOKEN_URI;
  if (json.type === "service_account") {
    if (!json.client_email || !json.private_key) {
      throw new ConfigError(`${path}: service account file lacks client_email or private_key`);
    }
    const key = await importRsaPrivateKey(json.private_key, path);
    const email = json.client_email;
    const source = `service account ${email} from ${path}`;
    return {
      source,
      async fetchToken() {
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: email, scope: GCS_SCOPE, aud: tokenUri, iat: now, exp: now + 3600 };
        const assertion = await signJwt(claims, key, json.private_key_id);
        return await exchange(tokenUri, {
          grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
          assertion,
        }, source);
      },
    };
  }
  if (json.type === "authorized_user") {
    if (!json.client_id || !json.client_secret || !json.refresh_token) {
      throw new ConfigError(`${path}: authorized_user file lacks client_id, client_secret or refresh_token`);
    }
    const form = {
      grant_type: "refresh_token",
      client_id: json.client_id,
      client_secret: json.client_secret,
      refresh_token: json.refresh_token,
    };
    const source = `gcloud user credentials from ${path}`;
    return { source, fetchToken: () => exchange(tokenUri, form, source) };
  }
  if (json.type === undefined) {
    throw new ConfigError(
      `${path}: no "type" in the Google credentials file (service_account, authorized_user)`,
    );
  }
  throw new ConfigError(
    `${path}: unsupported credentials type ${JSON.stringify(json.type)} (service_account, authorized_user)`,
  );
}

/** The GCE metadata server's token for the instance's default service account. */
function metadataProvider(host: string, timeoutMs: number): TokenProvider {
  const uri = `http://${host}/computeMetadata/v1/instance/service-accounts/default/token`;
  const source = `GCE metadata server ${host}`;
  return {
    source,
    async fetchToken() {
      let res: Response;
      try {
        res = await fetch(uri, {
          headers: { "metadata-flavor": "Google" },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new TransientError(`${source}: unreachable (${(err as Error).message})`);
      }
      return await readTokenAnswer(res, source);
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the first working source of Application Default Credentials. Throws ConfigError naming
 * everything that was tried when none works.
 */
export async function findAdcProvider(opts: AdcOptions): Promise<TokenProvider> {
  const tried: string[] = [];
  const envPath = opts.env.GOOGLE_APPLICATION_CREDENTIALS;
  // Set but unreadable is an error, not a reason to fall through (Google's libraries agree).
  if (envPath) return await providerFromFile(envPath);
  tried.push("GOOGLE_APPLICATION_CREDENTIALS (not set)");
  const gcloudDir = opts.env.CLOUDSDK_CONFIG ??
    (opts.homeDir === undefined ? undefined : join(opts.homeDir, ".config", "gcloud"));
  if (gcloudDir === undefined) {
    tried.push("~/.config/gcloud/application_default_credentials.json (no home directory)");
  } else {
    const wellKnown = join(gcloudDir, "application_default_credentials.json");
    if (await exists(wellKnown)) return await providerFromFile(wellKnown);
    tried.push(`${wellKnown} (not found)`);
  }
  const host = opts.env.GCE_METADATA_HOST ?? "169.254.169.254";
  const timeout = opts.metadataTimeoutMs ?? 1500;
  const meta = metadataProvider(host, timeout);
  try {
    const first = await meta.fetchToken();
    let used = false;
    // Hand the probe's token to the cache instead of asking again.
    return {
      source: meta.source,
      fetchToken: () => {
        if (!used) {
          used = true;
          return Promise.resolve(first);
        }
        return meta.fetchToken();
      },
    };
  } catch (err) {
    // An HTTP 5xx/429 answer: the metadata server is there but failing for now. Its provider is
    // used, and the backend retries the token fetch; only an unreachable server means "not on GCE".
    if (err instanceof TransientError && err.status !== undefined) return meta;
    tried.push(`GCE metadata server ${host} (${(err as Error).message.replace(`${meta.source}: `, "")})`);
  }
  const keys = opts.keys ?? { remedy: "set backup.access_key_id/secret_access_key (HMAC keys)" };
  const remedies = [keys.remedy, "set GOOGLE_APPLICATION_CREDENTIALS", keys.lastly].filter(Boolean);
  throw new ConfigError(
    `no Google credentials: ${keys.why ? `${keys.why}; ` : ""}tried ${tried.join("; ")}; ${
      remedies.join(", or ")
    }`,
  );
}
