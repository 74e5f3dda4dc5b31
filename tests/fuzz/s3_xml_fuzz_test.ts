/**
 * Hostile S3 answers (lib/backend/s3_api/xml.ts): a broken or malicious endpoint controls every byte of a
 * listing, an error document or a DeleteResult. Properties: the parsers return or throw a typed
 * error (never a stray URIError or RangeError, which would exit 1), agree with what was encoded for
 * well-formed listings, and take time linear in the answer's size.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseDeleteErrors, parseError, parseListPage, tagText } from "../../lib/backend/s3_api/xml.ts";
import { assertLinear, assertTyped, checkVectors, fuzzParams } from "../helpers/fuzz.ts";

const pieces = fc.constantFrom(
  "<ListBucketResult>",
  "</ListBucketResult>",
  "<Contents>",
  "</Contents>",
  "<Contents a='1'>",
  "<Key>",
  "</Key>",
  "<KeyCount>",
  "<Size>",
  "</Size>",
  "<LastModified>",
  "</LastModified>",
  "<IsTruncated>true</IsTruncated>",
  "<NextContinuationToken>",
  "</NextContinuationToken>",
  "<Error>",
  "</Error>",
  "<Code>",
  "</Code>",
  "<Message>",
  "</Message>",
  "&amp;",
  "&#x110000;",
  "&#99999999999999999999;",
  "&#0;",
  "&#xD800;",
  "%",
  "%E0%A4%A",
  "%FF",
  "+",
  "<",
  ">",
);
const hostileXml = fc.array(fc.oneof(pieces, fc.string({ maxLength: 8 })), { maxLength: 60 }).map((a) =>
  a.join("")
);

function parseAll(xml: string): void {
  parseListPage(xml, false);
  parseListPage(xml, true);
  parseError(xml);
  parseDeleteErrors(xml);
}

Deno.test("s3 xml: hostile answers end in a result or a typed error", async () => {
  await fc.assert(fc.asyncProperty(hostileXml, (xml) => assertTyped(() => parseAll(xml)).then(() => {})), {
    ...fuzzParams(400),
  });
});

Deno.test("s3 xml: a listing of any keys reads back exactly (URL-encoded or not)", () => {
  const keyArb = fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 });
  fc.assert(
    fc.property(fc.array(keyArb, { maxLength: 8 }), fc.boolean(), (keys, urlEncoded) => {
      const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
      const body = keys.map((k) =>
        `<Contents><Key>${
          esc(urlEncoded ? encodeURIComponent(k) : k)
        }</Key><Size>7</Size><LastModified>2026-01-01T00:00:00Z</LastModified></Contents>`
      ).join("");
      const page = parseListPage(`<ListBucketResult>${body}</ListBucketResult>`, urlEncoded);
      assert.deepEqual(page.objects.map((o) => o.key), keys);
    }),
    fuzzParams(200),
  );
});

Deno.test("s3 xml: time is linear in the answer (unclosed tags, long bodies)", async () => {
  const shapes: [string, (n: number) => string][] = [
    ["unclosed <Contents>", (n) => "<Contents><Key>".repeat(n)],
    ["unclosed <Key", (n) => "<Key ".repeat(n)],
    ["many entries", (n) => "<Contents><Key>k</Key><Size>1</Size></Contents>".repeat(n)],
    ["many errors", (n) => "<Error><Key>k</Key><Code>c</Code></Error><Error>".repeat(n)],
  ];
  for (const [what, make] of shapes) {
    await assertLinear(`s3 xml ${what}`, make, (x) => parseAll(x as string), 2000);
  }
});

Deno.test("s3 xml: regression vectors", async () => {
  await checkVectors("s3_xml", (v) => parseAll(v.input_text ?? ""));
  assert.equal(tagText("<Key>&#x110000;</Key>", "Key"), "&#x110000;");
});
