/**
 * Opens `s3://bucket/path`: settings from the URL, server.yaml and the AWS environment
 * (lib/backend/s3/config.ts), requests signed with SigV4, the work done by the shared S3 XML API
 * backend (lib/backend/s3_api/).
 */
import process from "node:process";
import type { RetryPolicy } from "../retry.ts";
import { ObjectApi, sigV4Auth } from "../s3_api/object_api.ts";
import { S3Backend } from "../s3_api/s3_api_backend.ts";
import { resolveS3Settings, type S3Options } from "./config.ts";

/**
 * Opens `s3://bucket/path` with the `backup:` options; credentials from the config, else the AWS
 * environment variables. The result is plain; wrap it with `retryBackend` for retries.
 */
export function openS3Backend(
  url: string,
  cfg: S3Options,
  opts: {
    retry?: RetryPolicy;
    partSize?: number;
    /** Largest body of known size sent as one PUT (default 200 MiB); tests lower it. */
    singlePutMax?: number;
    listPageSize?: number;
    /** How long an answer, or a download's next byte, may keep us waiting (default 60 s); tests lower it. */
    timeoutMs?: number;
    env?: Record<string, string | undefined>;
  } = {},
): S3Backend {
  const s = resolveS3Settings(url, cfg, opts.env ?? process.env);
  const api = new ObjectApi({
    endpoint: s.endpoint,
    bucket: s.bucket,
    pathStyle: s.pathStyle,
    auth: sigV4Auth(s.credentials, s.region),
    scheme: "s3",
    timeoutMs: opts.timeoutMs,
  });
  return new S3Backend({
    api,
    prefix: s.prefix,
    url: s.display,
    multiDelete: true,
    partSize: opts.partSize,
    singlePutMax: opts.singlePutMax,
    retry: opts.retry,
    listPageSize: opts.listPageSize,
  });
}
