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
