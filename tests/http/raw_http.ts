/**
 * One HTTP/1.1 request written byte for byte over TCP, for request targets and methods that `fetch`
 * would refuse to send or normalise.
 */

/** The status code, headers (lower-case names) and body of the answer. */
export interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Sends `METHOD TARGET HTTP/1.1` to `127.0.0.1:port` with `Connection: close` and reads the answer. */
export async function rawRequest(port: number, method: string, target: string): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  );
  const text = new TextDecoder("latin1").decode(await new Response(conn.readable).arrayBuffer());
  const [head, ...body] = text.split("\r\n\r\n");
  const [statusLine, ...lines] = head.split("\r\n");
  const headers = new Map(lines.map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as [string, string];
  }));
  const raw = body.join("\r\n\r\n");
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    body: headers.get("transfer-encoding") === "chunked" ? unchunk(raw) : raw,
  };
}

/** The data of a chunked body (sizes in hex, each chunk followed by CRLF, a 0 size last). */
function unchunk(raw: string): string {
  let out = "";
  for (let at = 0;;) {
    const eol = raw.indexOf("\r\n", at);
    const size = parseInt(raw.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
