/**
 * The URL and endpoint rules that S3 and the GCS XML API share (`scheme://bucket/path?query`),
 * and the static key pair SigV4 signs with. Pure: no I/O.
 */
import { ConfigError } from "../../errors.ts";

/** Static credentials for SigV4. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Splits `scheme://bucket/path?query` into bucket, root prefix ("" or "…/") and query. */
export function splitBucketUrl(
  url: string,
  scheme: string,
): { bucket: string; prefix: string; query: URLSearchParams } {
  const m = new RegExp(`^${scheme}://([^/?#]+)(/[^?#]*)?(?:\\?([^#]*))?$`).exec(url);
  if (!m) throw new ConfigError(`backup.url ${url}: expected ${scheme}://bucket/path`);
  const bucket = m[1];
  if (!/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(`backup.url ${url}: invalid bucket name "${bucket}"`);
  }
  const path = decodeURIComponent(m[2] ?? "").split("/").filter((s) => s.length > 0).join("/");
  return { bucket, prefix: path ? `${path}/` : "", query: new URLSearchParams(m[3] ?? "") };
}

/** Normalises an endpoint option: `host:port` gets https://, a trailing slash is dropped. */
export function parseEndpoint(raw: string, what: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new ConfigError(`${what}: invalid endpoint "${raw}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new ConfigError(`${what}: endpoint must be http:// or https://, got "${raw}"`);
  }
  return new URL(`${u.protocol}//${u.host}`);
}
