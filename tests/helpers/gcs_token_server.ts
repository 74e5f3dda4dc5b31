/**
 * Stand-ins for Google's side of Application Default Credentials, started by the test on 127.0.0.1:
 * - a token endpoint that VERIFIES the service account's RS256 JWT with the account's public key
 *   (and its iss/aud/scope/exp claims) before issuing a token, refusing a JWT signed by another key
 *   the way Google does (`invalid_grant`); it also serves the authorized_user refresh-token grant
 *   and the GCE metadata token path (`Metadata-Flavor: Google` required);
 * - a GCS XML API shim that accepts only bearer tokens this endpoint issued (and not expired), then
 *   re-signs the request with SigV4 and forwards it to the s3rver, which stores the objects.
 * No GCS emulator installs on these machines; this is the closest real check of the ADC path.
 */
import { AwsClient } from "aws4fetch";
import type { S3Server } from "./s3_server.ts";

/** Options of {@link startGcsTokenServer}. */
export interface TokenServerOptions {
  /** The service account's public key (verifies JWT signatures). */
  publicKey: CryptoKey;
  clientEmail: string;
  /** Credentials accepted by the refresh_token grant. */
  user?: { clientId: string; clientSecret: string; refreshToken: string };
  /** Lifetime of issued tokens in seconds. Default 3600. */
  expiresIn?: number;
}

/** A running token endpoint. */
export interface TokenServer {
  /** `http://127.0.0.1:PORT/token` (put it in the credentials file's token_uri). */
  tokenUri: string;
  /** `127.0.0.1:PORT` (for GCE_METADATA_HOST). */
  metadataHost: string;
  /** Tokens issued so far, by grant ("jwt", "refresh", "metadata"). */
  issued: { jwt: number; refresh: number; metadata: number };
  /** Refusals with their reasons. */
  refusals: string[];
  /** True when `token` was issued here and has not expired. */
  isValid(token: string): boolean;
  /** Forgets every issued token (as if revoked): the shim then answers 401. */
  revokeAll(): void;
  stop(): Promise<void>;
}

function b64urlDecode(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Starts the token endpoint (and metadata path). */
export function startGcsTokenServer(opts: TokenServerOptions): TokenServer {
  const tokens = new Map<string, number>();
  const issued = { jwt: 0, refresh: 0, metadata: 0 };
  const refusals: string[] = [];
  const lifetime = opts.expiresIn ?? 3600;
  const issue = (kind: keyof typeof issued) => {
    issued[kind]++;
    const token = `ya29.test-${crypto.randomUUID()}`;
    tokens.set(token, Date.now() + lifetime * 1000);
    return json({ access_token: token, expires_in: lifetime, token_type: "Bearer" });
  };
  const refuse = (reason: string) => {
    refusals.push(reason);
    return json({ error: "invalid_grant", error_description: reason }, 400);
  };
  let tokenUri = "";
  const verifyJwt = async (jwt: string): Promise<string | undefined> => {
    const parts = jwt.split(".");
    if (parts.length !== 3) return "Malformed JWT.";
    const header = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[0])));
    if (header.alg !== "RS256") return `Unsupported alg ${header.alg}.`;
    const ok = await crypto.subtle.verify(
      "RSASSA-PKCS1-v1_5",
      opts.publicKey,
      b64urlDecode(parts[2]),
      new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    );
    if (!ok) return "Invalid JWT Signature.";
    const claims = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[1])));
    const now = Date.now() / 1000;
    if (claims.iss !== opts.clientEmail) return `Unknown issuer ${claims.iss}.`;
    if (claims.aud !== tokenUri) return `Invalid audience ${claims.aud}.`;
    if (!String(claims.scope ?? "").includes("devstorage")) return "Missing storage scope.";
    if (!(claims.exp > now && claims.iat <= now + 60 && claims.exp - claims.iat <= 3600)) {
      return "Invalid JWT times.";
    }
    return undefined;
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/computeMetadata/v1/instance/service-accounts/default/token") {
      if (req.headers.get("metadata-flavor") !== "Google") {
        return new Response("Missing Metadata-Flavor", { status: 403 });
      }
      return issue("metadata");
    }
    if (url.pathname !== "/token" || req.method !== "POST") return new Response("not found", { status: 404 });
    const form = new URLSearchParams(await req.text());
    const grant = form.get("grant_type");
    if (grant === "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      const why = await verifyJwt(form.get("assertion") ?? "").catch((e) => `Malformed JWT: ${e.message}`);
      return why ? refuse(why) : issue("jwt");
    }
    if (grant === "refresh_token" && opts.user) {
      const u = opts.user;
      const ok = form.get("client_id") === u.clientId && form.get("client_secret") === u.clientSecret &&
        form.get("refresh_token") === u.refreshToken;
      return ok ? issue("refresh") : refuse("Bad Request");
    }
    return refuse(`unsupported grant_type ${grant}`);
  });
  tokenUri = `http://127.0.0.1:${server.addr.port}/token`;
  return {
    tokenUri,
    metadataHost: `127.0.0.1:${server.addr.port}`,
    issued,
    refusals,
    isValid: (t) => (tokens.get(t) ?? 0) > Date.now(),
    revokeAll: () => tokens.clear(),
    stop: () => server.shutdown(),
  };
}

/** A running GCS XML API shim. */
export interface GcsShim {
  /** `http://127.0.0.1:PORT` — use as the backend's `endpoint`. */
  endpoint: string;
  /** Requests refused for a missing/unknown/expired token. */
  unauthorized(): number;
  /** Requests forwarded. */
  forwarded(): number;
  stop(): Promise<void>;
}

const PASS_HEADERS = ["content-md5", "content-type", "range"];

/** Starts the shim: bearer token checked against `tokens`, storage in `s3`. */
export function startGcsShim(tokens: TokenServer, s3: S3Server): GcsShim {
  const signer = new AwsClient({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    service: "s3",
    region: "us-east-1",
    retries: 0,
  });
  let refused = 0;
  let forwarded = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Bearer (\S+)$/.exec(auth);
    if (!m || !tokens.isValid(m[1])) {
      refused++;
      await req.body?.cancel();
      return new Response(
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AuthenticationRequired</Code>" +
          "<Message>Invalid Credentials</Message></Error>",
        { status: 401, headers: { "content-type": "application/xml" } },
      );
    }
    forwarded++;
    const url = new URL(req.url);
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    for (const h of PASS_HEADERS) {
      const v = req.headers.get(h);
      if (v !== null) headers[h] = v;
    }
    const signed = await signer.sign(`${s3.endpoint}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body,
    });
    const res = await fetch(signed);
    const out = new Headers(res.headers);
    out.delete("content-encoding");
    return new Response(req.method === "HEAD" ? null : res.body, { status: res.status, headers: out });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    unauthorized: () => refused,
    forwarded: () => forwarded,
    stop: () => server.shutdown(),
  };
}
