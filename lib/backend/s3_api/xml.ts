/**
 * The handful of S3 XML documents the backend reads and writes. The shapes are fixed and flat, so a
 * tag scanner is enough; pulling in a general XML parser would be more code to trust, not less.
 */
import { BackendError } from "../../errors.ts";

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
    const code = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    // A reference past Unicode is not XML; keep it as text rather than fail inside an error report.
    return code <= 0x10ffff ? String.fromCodePoint(code) : `&${e};`;
  });
}

/** Escapes text for an XML element body. */
function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/**
 * Raw inner XML of the `<tag>…</tag>` blocks in order, at most `limit`. A scan with indexOf, not a
 * lazy regular expression: with many unclosed `<tag>` the regex retried from each one to the end of
 * the body (quadratic: 300 KB of them took 2 s, 4 MB would take minutes), while an open tag with no
 * close after it here ends the scan, since no later one can be closed either.
 */
function tagBlocks(xml: string, tag: string, limit = Infinity): string[] {
  const out: string[] = [];
  const close = `</${tag}>`;
  let from = 0;
  while (out.length < limit) {
    const at = xml.indexOf(`<${tag}`, from);
    if (at < 0) break;
    let body = at + tag.length + 1;
    const next = xml[body];
    if (next === ">") body++;
    else if (next !== undefined && /\s/.test(next)) {
      const gt = xml.indexOf(">", body);
      if (gt < 0) break;
      body = gt + 1;
    } else {
      from = body; // a longer name such as <KeyCount> when looking for <Key>
      continue;
    }
    const end = xml.indexOf(close, body);
    if (end < 0) break;
    out.push(xml.slice(body, end));
    from = end + close.length;
  }
  return out;
}

/** Text of the first `<tag>` in `xml`, decoded, or undefined. */
export function tagText(xml: string, tag: string): string | undefined {
  const [inner] = tagBlocks(xml, tag, 1);
  return inner === undefined ? undefined : xmlDecode(inner);
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

function urlDecodeKey(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    throw new BackendError(`S3 listing has a malformed URL-encoded key: ${JSON.stringify(raw)}`);
  }
}

/** Parses a ListObjectsV2 answer; `urlEncoded` when the request asked for `encoding-type=url`. */
export function parseListPage(xml: string, urlEncoded: boolean): ListPage {
  const objects = tagBlocks(xml, "Contents").map((block) => {
    const raw = tagText(block, "Key") ?? "";
    return {
      key: urlEncoded ? urlDecodeKey(raw) : raw,
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
