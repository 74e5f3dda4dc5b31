/**
 * `gcs://bucket/path` — Google Cloud Storage through its XML API, which is S3-shaped: the S3
 * backend's code does the work. HMAC keys sign with SigV4 (GCS's S3 interoperability); otherwise
 * Application Default Credentials give an OAuth bearer token. The XML API has no multi-object
 * delete, so keys are deleted one request each.
 */
import process from "node:process";
import { type RetryPolicy, withRetries } from "../retry.ts";
import { BackendError } from "../../errors.ts";
import type { BucketOptions } from "../s3_api/bucket_url.ts";
import { bearerAuth, ObjectApi, type RequestAuth, sigV4Auth } from "../s3_api/object_api.ts";
import { S3Backend } from "../s3_api/s3_api_backend.ts";
import { type AdcOptions, CachedToken, findAdcProvider } from "./adc.ts";
import { resolveGcsSettings } from "./config.ts";
import { homeDirOrNone } from "../../fsutil/home_dir.ts";

/** Options of {@link openGcsBackend}; defaults are the real environment. */
export interface GcsOpenOptions {
  retry?: RetryPolicy;
  partSize?: number;
  /** Largest body of known size sent as one PUT (default 200 MiB); tests lower it. */
  singlePutMax?: number;
  env?: Record<string, string | undefined>;
  homeDir?: string;
  metadataTimeoutMs?: number;
}

/** Bearer auth that drops a token the API refused (401), so the next attempt gets a fresh one. */
function adcAuth(cache: CachedToken): RequestAuth {
  const inner = bearerAuth(() => cache.token());
  return {
    authorize: (method, url, headers, body) => inner.authorize(method, url, headers, body),
    onUnauthorized: () => cache.invalidate(),
  };
}

/**
 * Opens `gcs://bucket/path`. With `access_key_id`/`secret_access_key` (HMAC keys) no lookup is
 * made; otherwise the ADC chain is resolved now, so a missing credential fails at open time.
 */
export async function openGcsBackend(
  url: string,
  cfg: BucketOptions,
  opts: GcsOpenOptions = {},
): Promise<S3Backend> {
  const s = resolveGcsSettings(url, cfg);
  let auth: RequestAuth;
  if (s.hmac) {
    auth = sigV4Auth(s.hmac, s.region);
  } else {
    const adc: AdcOptions = {
      env: opts.env ?? process.env,
      homeDir: opts.homeDir ?? homeDirOrNone(),
      metadataTimeoutMs: opts.metadataTimeoutMs,
      keys: cfg.keysSource,
    };
    const provider = await findAdcProvider(adc);
    const cache = new CachedToken(provider);
    // Fetch the first token now: a refused credential is reported by open, not by the first put.
    // A transient failure (the token endpoint's 5xx, a timeout) is retried as every request is; a
    // refused credential (invalid_grant, 400/401) fails at once.
    const first = opts.retry
      ? withRetries(`access token for ${s.display}`, () => cache.token(), opts.retry)
      : cache.token();
    await first.catch((err) => {
      throw err instanceof BackendError ? err : new BackendError(`${s.display}: ${(err as Error).message}`);
    });
    auth = adcAuth(cache);
  }
  const api = new ObjectApi({ endpoint: s.endpoint, bucket: s.bucket, pathStyle: true, auth, scheme: "gcs" });
  return new S3Backend({
    api,
    prefix: s.prefix,
    url: s.display,
    multiDelete: false,
    partSize: opts.partSize,
    singlePutMax: opts.singlePutMax,
    retry: opts.retry,
  });
}
