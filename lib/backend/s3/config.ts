/**
 * Parses an `s3://bucket/path` URL plus the `backup:` options into the settings the S3 backend
 * needs, and nothing else (no I/O). Options may also ride on the URL as query parameters
 * (`?endpoint=…&region=…&force_path_style=true`, as Litestream accepts them) so that a bare
 * `--url` works; server.yaml fields win over the query.
 */
import { ConfigError } from "../../errors.ts";
import {
  type BucketOptions,
  parseEndpoint,
  redactUserInfo,
  S3_QUERY_KEYS,
  type S3Credentials,
  splitBucketUrl,
} from "../s3_api/bucket_url.ts";
import { credentialChain, keyPairSource } from "./credentials/chain.ts";
import { profileSource } from "./credentials/aws_profile.ts";
import { containerSource, imdsSource } from "./credentials/aws_metadata.ts";

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
  /** The credential chain (lib/backend/s3/credentials/): fetched on first use, refreshed before expiry. */
  credentials: () => Promise<S3Credentials>;
  /** The URL without query or credentials, for messages. */
  display: string;
}

/** The `backup:` fields that concern S3. */
export interface S3Options extends BucketOptions {
  /** Path-style requests (`endpoint/bucket/key`), as MinIO needs. */
  forcePathStyle?: boolean;
  /** `--credentials-file`'s keys: tried before everything else. */
  credentialsFile?: { path: string; accessKeyId?: string; secretAccessKey?: string };
}

function boolOption(raw: string | null, name: string, url: string): boolean | undefined {
  if (raw === null) return undefined;
  if (["", "true", "1"].includes(raw)) return true;
  if (["false", "0"].includes(raw)) return false;
  // As server.yaml's force_path_style: maybe is refused there; here it was quietly false.
  throw new ConfigError(`${redactUserInfo(url)}: ${name}=${raw}: expected true or false`);
}

/** False for an IPv4/IPv6 literal or localhost: `<bucket>.<host>` names nothing there. */
function hasSubdomains(hostname: string): boolean {
  return !(/^\d+\.\d+\.\d+\.\d+$/.test(hostname) || hostname.startsWith("[") || hostname === "localhost");
}

/**
 * Resolves S3 settings from the URL, the config fields and (for whatever the config leaves out) the
 * standard AWS environment. Throws ConfigError for what is wrong in them; credentials are looked up on
 * first use, and their absence is a ConfigError then.
 */
export function resolveS3Settings(
  url: string,
  opts: S3Options,
  env: Record<string, string | undefined>,
): S3Settings {
  const { bucket, prefix, query } = splitBucketUrl(url, "s3", S3_QUERY_KEYS);
  // An empty value (`?region=`) is no value: it signed for us-east-1 past AWS_REGION.
  const param = (key: string) => query.get(key) || undefined;
  const region = opts.region ?? param("region") ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const display = `s3://${bucket}/${prefix}`.replace(/\/$/, "");
  // Named where it was set: the URL's ?endpoint= is no backup.endpoint. A path, query or user:password@
  // part is refused: requests go to the scheme and host alone, and the rest was dropped without a word.
  const fromUrl = opts.endpoint === undefined ? param("endpoint") : undefined;
  const endpointRaw = opts.endpoint ?? fromUrl;
  const endpoint = endpointRaw
    ? parseEndpoint(
      endpointRaw,
      fromUrl === undefined ? "backup.endpoint" : `${display}: URL option endpoint`,
    )
    : new URL(`https://s3.${region}.amazonaws.com`);
  // server.yaml's field wins over the query, false included.
  const styleKey = query.has("force_path_style") ? "force_path_style" : "forcePathStyle";
  const forced = opts.forcePathStyle ?? boolOption(query.get(styleKey), styleKey, url);
  // Dotted bucket names break the TLS wildcard certificate of virtual-host style on AWS; an endpoint
  // named by an IP address or as localhost has no per-bucket host names at all (the AWS SDKs agree).
  const pathStyle = Boolean(forced) || bucket.includes(".") || !hasSubdomains(endpoint.hostname);
  const credentials = resolveCredentials(opts, env, `s3://${bucket}`);
  return { bucket, prefix, region, endpoint, pathStyle, credentials, display };
}

/** The chain of credential sources, server.yaml's keys first (see credentials/chain.ts for the order). */
function resolveCredentials(
  opts: S3Options,
  env: Record<string, string | undefined>,
  where: string,
): () => Promise<S3Credentials> {
  if (Boolean(opts.accessKeyId) !== Boolean(opts.secretAccessKey)) {
    throw new ConfigError(`${where}: backup.access_key_id and backup.secret_access_key must be set together`);
  }
  const file = opts.credentialsFile;
  // Keys given (or a library caller's): the error speaks of the backup.* fields in general.
  const keys = opts.keysSource ??
    { name: "server.yaml backup.access_key_id", remedy: "set backup.access_key_id/secret_access_key" };
  return credentialChain(
    [
      ...(file
        ? [keyPairSource(`--credentials-file ${file.path}`, file.accessKeyId, file.secretAccessKey)]
        : []),
      ...(keys.name ? [keyPairSource(keys.name, opts.accessKeyId, opts.secretAccessKey)] : []),
      keyPairSource(
        "LITESTREAM_ACCESS_KEY_ID",
        env.LITESTREAM_ACCESS_KEY_ID,
        env.LITESTREAM_SECRET_ACCESS_KEY,
      ),
      keyPairSource(
        "AWS_ACCESS_KEY_ID",
        env.AWS_ACCESS_KEY_ID,
        env.AWS_SECRET_ACCESS_KEY,
        env.AWS_SESSION_TOKEN,
      ),
      profileSource(env),
      containerSource(env),
      imdsSource(env),
    ],
    where,
    Date.now,
    keys,
  );
}
