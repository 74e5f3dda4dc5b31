/**
 * Parses `gcs://bucket/path` plus the `backup:` options (no I/O). Explicit keys are GCS HMAC keys
 * for the XML API's SigV4 interoperability; without them the backend uses Application Default
 * Credentials (lib/backend/gcs/adc.ts).
 */
import { ConfigError } from "../../errors.ts";
import {
  type BucketOptions,
  GCS_QUERY_KEYS,
  parseEndpoint,
  type S3Credentials,
  splitBucketUrl,
} from "../s3_api/bucket_url.ts";

/** The public Cloud Storage XML API endpoint. */
export const GCS_XML_ENDPOINT = "https://storage.googleapis.com";

/** Everything needed to talk to one GCS bucket. */
export interface GcsSettings {
  bucket: string;
  /** Root prefix, "" or ending in "/". */
  prefix: string;
  /** XML API endpoint (scheme + host[:port]). */
  endpoint: URL;
  /** HMAC keys when configured; undefined means Application Default Credentials. */
  hmac?: S3Credentials;
  /** SigV4 region for HMAC requests; GCS accepts "auto". */
  region: string;
  /** The URL without query, for messages. */
  display: string;
}

/** Resolves GCS settings from the URL and the `backup:` fields. */
export function resolveGcsSettings(url: string, opts: BucketOptions): GcsSettings {
  const { bucket, prefix, query } = splitBucketUrl(url, "gcs", GCS_QUERY_KEYS);
  const display = `gcs://${bucket}/${prefix}`.replace(/\/$/, "");
  // Named where it was set: the URL's ?endpoint= is no backup.endpoint.
  const fromUrl = opts.endpoint === undefined ? query.get("endpoint") ?? undefined : undefined;
  const endpoint = parseEndpoint(
    opts.endpoint ?? fromUrl ?? GCS_XML_ENDPOINT,
    fromUrl === undefined ? "backup.endpoint" : `${display}: URL option endpoint`,
  );
  let hmac: S3Credentials | undefined;
  if (opts.accessKeyId || opts.secretAccessKey) {
    if (!opts.accessKeyId || !opts.secretAccessKey) {
      throw new ConfigError(
        `gcs://${bucket}: backup.access_key_id and backup.secret_access_key (HMAC keys) must be set together`,
      );
    }
    hmac = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
  }
  const region = opts.region ?? query.get("region") ?? "auto";
  return { bucket, prefix, endpoint, hmac, region, display };
}
