/**
 * The URL and endpoint rules that S3 and the GCS XML API share (`scheme://bucket/path?query`),
 * and the static key pair SigV4 signs with. Pure: no I/O.
 */
import { ConfigError } from "../../errors.ts";
import type { BackupOptionSource } from "../descriptor.ts";
import { decodeUrlPart } from "../url_decode.ts";
import { closest } from "../../closest_name.ts";

/** Static credentials for SigV4. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The URL options an s3:// URL may carry (server.yaml's fields win over them). */
export const S3_QUERY_KEYS = ["region", "endpoint", "force_path_style", "forcePathStyle"] as const;
/** The URL options a gcs:// URL may carry. */
export const GCS_QUERY_KEYS = ["endpoint", "region"] as const;

/**
 * Splits `scheme://bucket/path?query` into bucket, root prefix ("" or "…/") and query, whose names must
 * be among `queryKeys`: a misspelt `?endpiont=` was ignored, and the requests went to AWS.
 */
export function splitBucketUrl(
  url: string,
  scheme: string,
  queryKeys: readonly string[],
): { bucket: string; prefix: string; query: URLSearchParams } {
  const shown = redactUserInfo(url);
  const m = new RegExp(`^${scheme}://([^/?#]+)(/[^?#]*)?(?:\\?([^#]*))?$`).exec(url);
  if (!m) throw new ConfigError(`${shown}: expected ${scheme}://bucket/path`);
  const bucket = m[1];
  // Named without its user:secret@ part, which the message quoted whole.
  if (bucket.includes("@")) {
    throw new ConfigError(
      `${shown}: a user:password@ part is not read; give the keys in server.yaml or the environment`,
    );
  }
  if (!/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(`${shown}: invalid bucket name "${bucket}"`);
  }
  const gcsRule = scheme === "gcs" ? gcsBucketNameRule(bucket) : undefined;
  if (gcsRule) throw new ConfigError(`${shown}: invalid bucket name "${bucket}" (${gcsRule})`);
  const segments = decodeUrlPart(m[2] ?? "", shown).split("/").slice(1);
  if (segments.at(-1) === "") segments.pop();
  // The request URL is normalised on the way (a/../b is b, x//y is x/y): stored elsewhere than said.
  const odd = segments.find((s) => s === "" || s === "." || s === "..");
  if (odd !== undefined) {
    const names = scheme === "s3" ? "S3 key" : "object key";
    throw new ConfigError(
      `${shown}: ${odd === "" ? "an empty" : `a "${odd}"`} path segment names no ${names}`,
    );
  }
  const query = new URLSearchParams(m[3] ?? "");
  for (const key of new Set(query.keys())) {
    if (queryKeys.includes(key)) continue;
    const hint = closest(key, [...queryKeys]);
    throw new ConfigError(
      `${shown}: unknown URL option "${key}" (${
        hint ? `did you mean "${hint}"?` : `known: ${queryKeys.join(", ")}`
      })`,
    );
  }
  const path = segments.join("/");
  return { bucket, prefix: path ? `${path}/` : "", query };
}

/**
 * The Cloud Storage naming rule `bucket` breaks beyond the shared pattern (lowercase letters, digits,
 * `-_.`, a letter or digit at each end), or undefined
 * (https://cloud.google.com/storage/docs/buckets#naming): the server refuses such a name only later.
 */
function gcsBucketNameRule(bucket: string): string | undefined {
  if (bucket.length > 222) return "more than 222 characters";
  const parts = bucket.split(".");
  if (parts.some((p) => p === "")) return "an empty dot-separated part";
  if (parts.length === 1 && bucket.length > 63) return "more than 63 characters without dots";
  if (parts.some((p) => p.length > 63)) return "a dot-separated part of more than 63 characters";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return "an IP address";
  if (bucket.startsWith("goog")) return 'begins with "goog"';
  if (/g[o0][o0]gle/.test(bucket)) return 'contains "google" or a misspelling of it';
  return undefined;
}

/** An endpoint value without a `user:password@` part, for messages. */
function redactEndpoint(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#@]*@/i, "$1");
}

/**
 * Normalises an endpoint option: `host:port` gets https://, a trailing slash is dropped. An endpoint
 * that also has a path, query or user:password@ part is refused: only its scheme and host would be
 * used, and the rest was dropped without a word. Messages never quote a user:password@ part.
 */
export function parseEndpoint(raw: string, what: string): URL {
  const shown = redactEndpoint(raw);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new ConfigError(`${what}: invalid endpoint "${shown}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new ConfigError(`${what}: endpoint must be http:// or https://, got "${shown}"`);
  }
  const extra = u.username || u.password
    ? "a user:password@ part"
    : u.pathname !== "/"
    ? `a path (${u.pathname})`
    : u.search || u.hash
    ? "a query"
    : undefined;
  if (extra) {
    throw new ConfigError(
      `${what}: endpoint takes only a scheme, host and port, got "${shown}" with ${extra}`,
    );
  }
  return new URL(`${u.protocol}//${u.host}`);
}

/** The `backup:` options S3 and the GCS XML API both read (keys, region, endpoint). */
export interface BucketOptions {
  /** Access key id (GCS: HMAC key). */
  accessKeyId?: string;
  /** Secret access key (GCS: HMAC secret). */
  secretAccessKey?: string;
  region?: string;
  /** Service endpoint, `http(s)://host[:port]`. */
  endpoint?: string;
  /** What the "no credentials" error says about the config's keys (set by whoever read the config). */
  keysSource?: KeysSource;
}

/**
 * The config's keys as the "no credentials" error describes them: what happened to them and what would
 * supply them there. Without one, the error speaks of `backup.access_key_id` in general.
 */
export interface KeysSource {
  /** The keys as a source the chain tried (`/srv/vigo/server.yaml backup.access_key_id`); absent when none was read. */
  name?: string;
  /** Why they gave no credentials (`/srv/vigo/server.yaml does not exist`). */
  why?: string;
  /** What would supply them, said first among the remedies (without the environment variables). */
  remedy?: string;
  /** The last remedy (`give --credentials-file FILE with access_key_id and secret_access_key`). */
  lastly?: string;
}

/** Reads {@link BucketOptions} from the `backup:` section. */
export function parseBucketOptions(src: BackupOptionSource): BucketOptions {
  const endpoint = src.string("endpoint");
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    throw src.error("endpoint", `expected an http:// or https:// URL, got ${JSON.stringify(endpoint)}`);
  }
  return {
    // An access key id names the key; only its secret half is worth a plain-text warning.
    accessKeyId: src.secret("access_key_id", "accessKeyId", { plainTextOk: true }),
    secretAccessKey: src.secret("secret_access_key", "secretAccessKey"),
    region: src.string("region"),
    endpoint,
  };
}

/**
 * `url` without a `user:password@` part (bucket URLs carry none, but a pasted one may), nor one in an
 * URL option's value (`?endpoint=http://user:password@host`), written plain or percent-encoded. A value
 * without a scheme loses only a part with a colon (`user:password@`): `?region=a@b` names no secret.
 */
export function redactUserInfo(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, "$1")
    .replace(/([?&][^=&#]*=[a-zA-Z][a-zA-Z0-9+.-]*(?::\/\/|%3A%2F%2F))[^/?#&@]*(?:@|%40)/gi, "$1")
    .replace(/([?&][^=&#]*=)[^/?#&@:%]*(?::|%3A)[^/?#&@]*(?:@|%40)/gi, "$1");
}
