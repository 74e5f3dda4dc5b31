/**
 * The handful of S3 XML documents the backend reads and writes. The shapes are fixed and flat, so a
 * tag scanner is enough; pulling in a general XML parser would be more code to trust, not less.
 */

/** Decodes the five XML entities and numeric character references. */
function xmlDecode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    switch (e) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/** Escapes text for an XML element body. */
function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** Text of the first `<tag>` in `xml`, decoded, or undefined. */
export function tagText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? xmlDecode(m[1]) : undefined;
}

/** Raw inner XML of every `<tag>…</tag>` block. */
function tagBlocks(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, "g");
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1]);
  return out;
}

/** One entry of a ListObjectsV2 page. */
export interface ListedObject {
  key: string;
  size: number;
  mtime: Date;
}

/** A parsed ListBucketResult (ListObjectsV2). */
export interface ListPage {
  objects: ListedObject[];
  /** Present when the listing is truncated. */
  nextToken?: string;
}

/** Parses a ListObjectsV2 answer; `urlEncoded` when the request asked for `encoding-type=url`. */
export function parseListPage(xml: string, urlEncoded: boolean): ListPage {
  const objects = tagBlocks(xml, "Contents").map((block) => {
    const raw = tagText(block, "Key") ?? "";
    return {
      key: urlEncoded ? decodeURIComponent(raw.replace(/\+/g, " ")) : raw,
      size: Number(tagText(block, "Size") ?? "0"),
      mtime: new Date(tagText(block, "LastModified") ?? 0),
    };
  });
  const truncated = tagText(xml, "IsTruncated") === "true";
  const nextToken = truncated ? tagText(xml, "NextContinuationToken") : undefined;
  return { objects, nextToken };
}

/** Code and message of an `<Error>` document (S3 and GCS XML API share the shape). */
export function parseError(xml: string): { code?: string; message?: string } {
  return { code: tagText(xml, "Code"), message: tagText(xml, "Message") };
}

/** Body of CompleteMultipartUpload. */
export function completeMultipartXml(parts: { partNumber: number; etag: string }[]): string {
  const items = parts.map((p) =>
    `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${xmlEscape(p.etag)}</ETag></Part>`
  );
  return `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload>${
    items.join("")
  }</CompleteMultipartUpload>`;
}

/** Body of DeleteObjects in quiet mode (only failures are reported). */
export function deleteObjectsXml(keys: string[]): string {
  const items = keys.map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`).join("");
  return `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>${items}</Delete>`;
}

/** The failures listed in a DeleteResult. */
export function parseDeleteErrors(xml: string): { key: string; code: string; message: string }[] {
  return tagBlocks(xml, "Error").map((b) => ({
    key: tagText(b, "Key") ?? "",
    code: tagText(b, "Code") ?? "",
    message: tagText(b, "Message") ?? "",
  }));
}
