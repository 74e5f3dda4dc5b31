/**
 * S3 settings as the URL, server.yaml's `backup:` fields and the AWS environment give them, without a
 * server: region, endpoint, addressing style, credentials' presence, and what is refused.
 */
import { resolveS3Settings } from "../../lib/backend/s3/config.ts";
import { ObjectApi, sigV4Auth } from "../../lib/backend/s3_api/object_api.ts";
import { redactUserInfo } from "../../lib/backend/s3_api/bucket_url.ts";
import { ConfigError } from "../../lib/errors.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

const env = { AWS_ACCESS_KEY_ID: "AKENV", AWS_SECRET_ACCESS_KEY: "env-secret", AWS_REGION: "eu-west-3" };

function refused(url: string, o = {}): string {
  try {
    resolveS3Settings(url, o, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`${url}: accepted`);
}

Deno.test("s3: settings from URL, config and AWS environment; virtual-host URLs for AWS", async () => {
  const s = resolveS3Settings("s3://my-bucket/vigo/backup/", {}, env);
  assertEquals([s.bucket, s.prefix, s.region, s.pathStyle], [
    "my-bucket",
    "vigo/backup/",
    "eu-west-3",
    false,
  ]);
  assertEquals((await s.credentials()).accessKeyId, "AKENV");
  assertEquals(s.endpoint.href, "https://s3.eu-west-3.amazonaws.com/");
  const api = new ObjectApi({ ...s, auth: sigV4Auth(s.credentials, s.region), scheme: "s3" });
  assertEquals(api.url("a b/ü.txt").href, "https://my-bucket.s3.eu-west-3.amazonaws.com/a%20b/%C3%BC.txt");
  const cfg = resolveS3Settings("s3://vigo-backup/data", {
    endpoint: "minio.internal:9000",
    forcePathStyle: true,
    accessKeyId: "AKCFG",
    secretAccessKey: "cfg",
  }, env);
  assertEquals([cfg.endpoint.href, cfg.pathStyle, (await cfg.credentials()).accessKeyId], [
    "https://minio.internal:9000/",
    true,
    "AKCFG",
  ]);
  const q = resolveS3Settings(
    "s3://b-1/x?endpoint=http://127.0.0.1:9000&region=auto&force_path_style=true",
    {},
    env,
  );
  assertEquals([q.endpoint.href, q.region, q.pathStyle], ["http://127.0.0.1:9000/", "auto", true]);
  // An IP address or localhost cannot take the bucket as a subdomain: path style without being asked.
  for (
    const [endpoint, pathStyle] of [
      ["http://127.0.0.1:9000", true],
      ["http://[::1]:9000", true],
      ["http://localhost:9000", true],
      ["https://minio.internal:9000", false],
    ] as const
  ) {
    assertEquals(resolveS3Settings("s3://b-1/x", { endpoint }, env).pathStyle, pathStyle, endpoint);
  }
  // no source has credentials: the chain says so when they are first needed
  const none = resolveS3Settings("s3://bucket/x", {}, { AWS_EC2_METADATA_DISABLED: "true" });
  await assertRejects(() => none.credentials(), ConfigError);
  await assertRejects(
    () => resolveS3Settings("s3://bucket/x", { accessKeyId: "only-id" }, env),
    ConfigError,
  );
  await assertRejects(() => resolveS3Settings("s3://Bad_Bucket/x", {}, env), ConfigError);
  // Found by review: a/../b stored under b, x//y/./z under x/y/z, while the messages named the URL given;
  // a misspelt option was ignored (the requests went to AWS), ?force_path_style=maybe was false, an empty
  // ?region= signed for us-east-1 past AWS_REGION, and a user:secret@ part was quoted in the error.
  assertEquals(refused("s3://b-1/a/../b"), `s3://b-1/a/../b: a ".." path segment names no S3 key`);
  assertEquals(refused("s3://b-1/x//y"), "s3://b-1/x//y: an empty path segment names no S3 key");
  assertEquals(refused("s3://b-1/x/./z"), `s3://b-1/x/./z: a "." path segment names no S3 key`);
  assertEquals(resolveS3Settings("s3://b-1/x/y/", {}, env).prefix, "x/y/");
  const secret = refused("s3://AKID:MySecretKey123@my-bucket/v");
  assert(!secret.includes("MySecretKey123"), secret);
  assertEquals(
    refused("s3://b-1/x?endpiont=http://h"),
    `s3://b-1/x?endpiont=http://h: unknown URL option "endpiont" (did you mean "endpoint"?)`,
  );
  assertEquals(
    refused("s3://b-1/x?force_path_style=maybe"),
    "s3://b-1/x?force_path_style=maybe: force_path_style=maybe: expected true or false",
  );
  assertEquals(resolveS3Settings("s3://b-1/x?region=", {}, env).region, "eu-west-3");
  const endpoint = "http://minio.internal:9000";
  assertEquals(
    resolveS3Settings(`s3://b-1/x?force_path_style=true&endpoint=${endpoint}`, { forcePathStyle: false }, env)
      .pathStyle,
    false,
  );
});

// Found by review: an endpoint's path was cut off and its requests went to the host's root; GCS already
// refused one.
Deno.test("s3: an endpoint with a path, query or user:password@ is refused, named where it was set", () => {
  assertEquals(
    refused("s3://b-1/p?endpoint=http://127.0.0.1:9/minio"),
    's3://b-1/p: URL option endpoint: endpoint takes only a scheme, host and port, got "http://127.0.0.1:9/minio" with a path (/minio)',
  );
  assertEquals(
    refused("s3://b-1/p", { endpoint: "https://proxy.internal/s3?x=1" }),
    'backup.endpoint: endpoint takes only a scheme, host and port, got "https://proxy.internal/s3?x=1" with a path (/s3)',
  );
  const withPassword = refused("s3://b-1/p", { endpoint: "http://u:SECRETPW@127.0.0.1:9" });
  assert(withPassword.includes("a user:password@ part") && !withPassword.includes("SECRETPW"), withPassword);
  // a trailing slash is no path
  assertEquals(
    resolveS3Settings("s3://b-1/p?endpoint=http://127.0.0.1:9/", {}, env).endpoint.host,
    "127.0.0.1:9",
  );
});

Deno.test("s3: messages drop user:password@ in the URL and its options, and nothing else", () => {
  const cases: [string, string][] = [
    ["s3://AKID:SECRET@b-1/p", "s3://b-1/p"],
    ["s3://b-1/p?endpoint=http://u:SECRET@h:9&x=1", "s3://b-1/p?endpoint=http://h:9&x=1"],
    ["s3://b-1/p?endpoint=http://TOKEN@h:9", "s3://b-1/p?endpoint=http://h:9"],
    ["s3://b-1/p?endpoint=http%3A%2F%2Fu%3ASECRET%40h%3A9", "s3://b-1/p?endpoint=http%3A%2F%2Fh%3A9"],
    ["s3://b-1/p?x=1&endpoint=u:SECRET@h:9", "s3://b-1/p?x=1&endpoint=h:9"],
    ["s3://b-1/p?endpoint=u%3ASECRET%40h%3A9", "s3://b-1/p?endpoint=h%3A9"],
    // found by review: the whole "a@" went, though a value without a scheme or colon holds no password
    ["s3://b-1/p?region=a@b", "s3://b-1/p?region=a@b"],
  ];
  for (const [url, shown] of cases) assertEquals(redactUserInfo(url), shown, url);
});
