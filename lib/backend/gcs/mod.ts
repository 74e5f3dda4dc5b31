/** The gcs:// backend as the registry (lib/backends.ts) lists it. */
import type { BackendDescriptor } from "../descriptor.ts";
import { isRetryable } from "../retry.ts";
import {
  type BucketOptions,
  GCS_QUERY_KEYS,
  parseBucketOptions,
  redactUserInfo,
  splitBucketUrl,
} from "../s3_api/bucket_url.ts";

/** server.yaml's `backup:` settings for a gcs:// destination (keys are HMAC keys; none = ADC). */
export interface GcsConfig extends BucketOptions {
  readonly scheme: "gcs";
}

/** `gcs://bucket/path` through the Cloud Storage XML API. */
export const gcsBackend: BackendDescriptor<GcsConfig> = {
  scheme: "gcs",
  // force_path_style is accepted without a warning: a config moved over from S3 carries it, and GCS
  // is always addressed path-style anyway.
  optionKeys: ["access_key_id", "secret_access_key", "region", "endpoint", "force_path_style"],
  parseConfig: (src) => ({ scheme: "gcs", ...parseBucketOptions(src) }),
  redact: redactUserInfo,
  checkUrl: (url) => (splitBucketUrl(url, "gcs", GCS_QUERY_KEYS), url),
  // Loaded on open: reading server.yaml must not load every backend's client.
  open: async (url, cfg) => await (await import("./gcs_backend.ts")).openGcsBackend(url, cfg, { retry: {} }),
  isRetryable,
  // S3Backend.getInto (lib/backend/s3_api/s3_api_backend.ts)
  downloadsNatively: true,
};
