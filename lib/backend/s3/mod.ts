/** The s3:// backend as the registry (lib/backends.ts) lists it. */
import type { BackendDescriptor } from "../descriptor.ts";
import { isRetryable } from "../retry.ts";
import { parseBucketOptions, redactUserInfo, S3_QUERY_KEYS, splitBucketUrl } from "../s3_api/bucket_url.ts";
import type { S3Options } from "./config.ts";

/** server.yaml's `backup:` settings for an s3:// destination (secrets resolved by the loader). */
export interface S3Config extends S3Options {
  readonly scheme: "s3";
  forcePathStyle: boolean;
}

/** `s3://bucket/path` on AWS S3 or an S3-compatible server (MinIO, …). */
export const s3Backend: BackendDescriptor<S3Config> = {
  scheme: "s3",
  optionKeys: ["access_key_id", "secret_access_key", "region", "endpoint", "force_path_style"],
  parseConfig: (src) => ({
    scheme: "s3",
    ...parseBucketOptions(src),
    forcePathStyle: src.boolean("force_path_style") ?? false,
  }),
  redact: redactUserInfo,
  checkUrl: (url) => (splitBucketUrl(url, "s3", S3_QUERY_KEYS), url),
  // Loaded on open: reading server.yaml must not load every backend's client. The parts of a
  // multipart upload (a bare stream, or a sized body above the single-PUT cutoff) are retried inside
  // with the same policy.
  open: async (url, cfg) => (await import("./s3_backend.ts")).openS3Backend(url, cfg, { retry: {} }),
  isRetryable,
  // S3Backend.getInto (lib/backend/s3_api/s3_api_backend.ts)
  downloadsNatively: true,
};
