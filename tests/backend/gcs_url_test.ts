/** gcs:// URLs and their options, checked before any request (lib/backend/gcs/config.ts, bucket_url.ts). */
import { ConfigError } from "../../lib/errors.ts";
import { resolveGcsSettings } from "../../lib/backend/gcs/config.ts";
import { S3_QUERY_KEYS, splitBucketUrl } from "../../lib/backend/s3_api/bucket_url.ts";
import { assert, assertEquals } from "./assert.ts";

function refused(url: string): string {
  try {
    resolveGcsSettings(url, {});
  } catch (err) {
    assert(err instanceof ConfigError, String(err));
    return err.message;
  }
  throw new Error(`${url} was accepted`);
}

const a = (n: number) => "a".repeat(n);

Deno.test("gcs url: bucket names Cloud Storage forbids are refused with the rule, S3 keeps its own", () => {
  const long = `${a(63)}.${a(63)}.${a(63)}.${a(31)}`; // 223 characters
  const cases: [string, string][] = [
    ["192.168.1.1", "an IP address"],
    ["goog-backups", 'begins with "goog"'],
    ["my-google-bucket", 'contains "google"'],
    ["my-g00gle-bucket", 'contains "google"'],
    [a(64), "more than 63 characters without dots"],
    [`${a(64)}.b`, "a dot-separated part of more than 63 characters"],
    [long, "more than 222 characters"],
    ["a..b", "an empty dot-separated part"],
  ];
  for (const [bucket, why] of cases) {
    const msg = refused(`gcs://${bucket}/p`);
    assert(msg.startsWith(`gcs://${bucket}/p: invalid bucket name "${bucket}" (`), msg);
    assert(msg.includes(why), msg);
    // What S3 accepted before, it still accepts.
    if (bucket !== long) assertEquals(splitBucketUrl(`s3://${bucket}/p`, "s3", S3_QUERY_KEYS).bucket, bucket);
  }
  for (const ok of ["vigo-test", `${a(63)}.${a(63)}.${a(63)}.${a(30)}`, "a.b_c-1", "1.2.3.x"]) {
    assertEquals(resolveGcsSettings(`gcs://${ok}/p`, {}).bucket, ok);
  }
});

Deno.test("gcs url: ?endpoint= with a path or user:password@ is refused, named as a URL option, never quoting a password", () => {
  assertEquals(
    refused("gcs://vigo-test/p?endpoint=http://127.0.0.1:9/not/used"),
    'gcs://vigo-test/p: URL option endpoint: endpoint takes only a scheme, host and port, got "http://127.0.0.1:9/not/used" with a path (/not/used)',
  );
  assertEquals(
    refused("gcs://vigo-test/p?endpoint=ftp://x"),
    'gcs://vigo-test/p: URL option endpoint: endpoint must be http:// or https://, got "ftp://x"',
  );
  const withPassword = refused("gcs://vigo-test/p?endpoint=http://u:SECRETPW@127.0.0.1:9");
  assert(withPassword.includes("a user:password@ part") && !withPassword.includes("SECRETPW"), withPassword);
  for (
    const url of [
      "gcs://vigo-test/p?endpoint=http://u:SECRETPW@127.0.0.1:9&x=1",
      "gcs://vigo-test/p?endpoint=http%3A%2F%2Fu%3ASECRETPW%40127.0.0.1%3A9&x=1",
      "gcs://vigo-test/p?x=1&endpoint=u:SECRETPW@127.0.0.1:9",
    ]
  ) {
    const msg = refused(url);
    assert(msg.includes('unknown URL option "x"') && !msg.includes("SECRETPW"), msg);
  }
  // server.yaml's endpoint keeps its name; a trailing slash is no path.
  const yaml = () => resolveGcsSettings("gcs://vigo-test/p", { endpoint: "http://127.0.0.1:9/x" });
  let msg = "";
  try {
    yaml();
  } catch (err) {
    msg = (err as Error).message;
  }
  assert(msg.startsWith("backup.endpoint: endpoint takes only"), msg);
  assertEquals(
    resolveGcsSettings("gcs://vigo-test/p?endpoint=http://127.0.0.1:9/", {}).endpoint.host,
    "127.0.0.1:9",
  );
  assertEquals(
    refused("gcs://vigo-test/a/../b"),
    'gcs://vigo-test/a/../b: a ".." path segment names no object key',
  );
});
