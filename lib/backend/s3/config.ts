/**
 * Parses an `s3://bucket/path` URL plus the `backup:` options into the settings the S3 backend
 * needs, and nothing else (no I/O). Options may also ride on the URL as query parameters
 * (`?endpoint=…&region=…&force_path_style=true`, as Litestream accepts them) so that a bare
 * `--url` works; server.yaml fields win over the query.
 */
import { ConfigError } from "../../errors.ts";
import { parseEndpoint, type S3Credentials, splitBucketUrl } from "../s3_api/bucket_url.ts";

/** Everything needed to talk to one bucket. */
export interface S3Settings {
  bucket: string;
  /** Root prefix inside the bucket, "" or ending in "/". */
  prefix: string;
  region: string;
  /** Service endpoint (scheme + host[:port]), without the bucket. */
  endpoint: URL;
  /** true: `endpoint/bucket/key`; false: `bucket.endpoint/key` (virtual-host style). */
  pathStyle: boolean;
  credentials: S3Credentials;
  /** The URL without query or credentials, for messages. */
  display: string;
}

/** The `backup:` fields that concern S3 (a subset of BackupConfig). */
export interface S3Options {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
}

function boolOption(raw: string | null): boolean | undefined {
  if (raw === null) return undefined;
  return raw === "" || raw === "true" || raw === "1";
}

/**
 * Resolves S3 settings from the URL, the config fields and (for whatever the config leaves out) the
 * standard AWS environment variables. Throws ConfigError naming what is missing.
 */
export function resolveS3Settings(
  url: string,
  opts: S3Options,
  env: Record<string, string | undefined>,
): S3Settings {
  const { bucket, prefix, query } = splitBucketUrl(url, "s3");
  const region = opts.region ?? query.get("region") ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ??
    "us-east-1";
  const endpointRaw = opts.endpoint ?? query.get("endpoint") ?? undefined;
  const endpoint = endpointRaw
    ? parseEndpoint(endpointRaw, "backup.endpoint")
    : new URL(`https://s3.${region}.amazonaws.com`);
  const forced = opts.forcePathStyle ||
    boolOption(query.get("force_path_style") ?? query.get("forcePathStyle"));
  // Dotted bucket names break the TLS wildcard certificate of virtual-host style on AWS.
  const pathStyle = Boolean(forced) || bucket.includes(".");
  const credentials = resolveCredentials(opts, env, `s3://${bucket}`);
  const display = `s3://${bucket}/${prefix}`.replace(/\/$/, "");
  return { bucket, prefix, region, endpoint, pathStyle, credentials, display };
}

/** Config keys first (already secret-resolved), else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. */
function resolveCredentials(
  opts: S3Options,
  env: Record<string, string | undefined>,
  where: string,
): S3Credentials {
  if (opts.accessKeyId || opts.secretAccessKey) {
    if (!opts.accessKeyId || !opts.secretAccessKey) {
      throw new ConfigError(
        `${where}: backup.access_key_id and backup.secret_access_key must be set together`,
      );
    }
    return { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
  }
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (id && secret) return { accessKeyId: id, secretAccessKey: secret, sessionToken: env.AWS_SESSION_TOKEN };
  throw new ConfigError(
    `${where}: no credentials: set backup.access_key_id/secret_access_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`,
  );
}
