/**
 * Starts the real S3-compatible test server (@20minutes/s3rver 5.0.0 from .tools, which verifies
 * SigV4 signatures) under node on 127.0.0.1: random free port, its own data directory, a configured
 * access key/secret (the built-in S3RVER key is revoked) and one bucket. `restart()` brings it back
 * on the same port and directory, for tests that kill the server mid-upload.
 */
import { REPO_ROOT } from "./cli.ts";
import { S3_SECRET_ACCESS_KEY } from "./test_secrets.ts";

/** Path of the s3rver package. */
export const S3RVER_DIR = `${REPO_ROOT}.tools/node_modules/@20minutes/s3rver`;

// Runs inside node. Reads its settings from the environment so nothing needs quoting.
// These fixes make s3rver keep promises real S3 keeps (documented in docs/guide/backends.md):
// - its XML builder escapes text twice ("&" → "&amp;amp;"); real S3 escapes once;
// - it writes objects in place while the body streams in, so a concurrent or interrupted PUT can
//   leave a torn object; real S3 makes a PUT visible only when complete. Write + rename instead;
// - DeleteObjects deletes keys in parallel and each prunes empty parent directories, so two keys
//   in one directory race and one fails with ENOENT (HTTP 500) after its files are gone: ignore it;
// - completing an upload that no longer exists answers 500 InternalError; S3 answers 404
//   NoSuchUpload, which clients rely on to recognise an already completed upload;
// - for virtual-host requests (bucket in the Host header) it puts the bucket into the SigV4
//   canonical URI; AWS signs the path as sent ("/key"), so strip it there;
// - it signs x-amz-content-sha256 but never checks the body against it; S3 answers 400
//   XAmzContentSHA256Mismatch and stores nothing, so hash the body of PUTs (objects and parts)
//   while it streams in and fail the store when the two differ;
// - it has no AbortMultipartUpload (DELETE ?uploadId=): its router answers 405 MethodNotAllowed once
//   the request is authenticated, and the parts stay. S3 removes the upload with its parts (204, or
//   404 NoSuchUpload when there is none): do that where the 405 was.
const LAUNCHER = `
const fs = require("node:fs");
const crypto = require("node:crypto");
const { pipeline, Transform } = require("node:stream");
const S3Error = require(process.env.S3RVER_DIR + "/lib/models/error");
const v4 = require(process.env.S3RVER_DIR + "/lib/signature/v4");
// Replaced before s3rver's controllers load: they take the function at require time.
const parseBody = v4.aws4SignatureBodyParser;
v4.aws4SignatureBodyParser = (ctx) => {
  parseBody(ctx);
  const signed = ctx.get("x-amz-content-sha256");
  if (process.env.S3_CHECK_PAYLOAD !== "1" || !/^[0-9a-f]{64}$/.test(signed)) return;
  const hash = crypto.createHash("sha256");
  const check = new Transform({
    transform(chunk, encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const computed = hash.digest("hex");
      if (computed === signed) return callback();
      const err = new S3Error(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { ClientComputedContentSHA256: signed, S3ComputedContentSHA256: computed },
      );
      err.status = 400;
      err.expose = true;
      callback(err);
    },
  });
  // pipeline, not pipe: a client that goes away mid-body must fail the store, not leave it waiting.
  ctx.request.body = pipeline(ctx.request.body, check, () => {});
};
// s3rver escapes with he.escape, then the XML builder escapes again: keep only the builder's.
require(require.resolve("he", { paths: [process.env.S3RVER_DIR] })).escape = (s) => s;
const Store = require(process.env.S3RVER_DIR + "/lib/stores/filesystem");
const putContent = Store.prototype.putContent;
Store.prototype.putContent = async function (objectPath, content) {
  const tmp = objectPath + "." + process.pid + "." + Math.random().toString(36).slice(2) + ".partial";
  let result;
  if (Buffer.isBuffer(content)) {
    await fs.promises.writeFile(tmp, content);
    result = [content.length, require("node:crypto").createHash("md5").update(content).digest("hex")];
  } else {
    try {
      result = await putContent.call(this, tmp, content);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }
  await fs.promises.rename(tmp, objectPath);
  return result;
};
const deleteObject = Store.prototype.deleteObject;
Store.prototype.deleteObject = async function (...args) {
  try {
    await deleteObject.apply(this, args);
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
  }
};
const getStringToSign = v4.getStringToSign;
v4.getStringToSign = (canonical, request) => {
  const m = new RegExp("^/([^/]+)(/.*)?$").exec(canonical.uri);
  const host = String(canonical.headers.host || "");
  if (m && host.startsWith(m[1] + ".")) canonical = { ...canonical, uri: m[2] || "/" };
  return getStringToSign(canonical, request);
};
const putObjectMultipart = Store.prototype.putObjectMultipart;
Store.prototype.putObjectMultipart = async function (...args) {
  try {
    return await putObjectMultipart.apply(this, args);
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
    throw new S3Error("NoSuchUpload", "The specified upload does not exist.");
  }
};
const S3rver = require(process.env.S3RVER_DIR);
const Account = require(process.env.S3RVER_DIR + "/lib/models/account");
Account.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
Account.DUMMY_ACCOUNT.createKeyPair(process.env.S3_KEY, process.env.S3_SECRET);
const app = new S3rver({
  address: "127.0.0.1",
  port: Number(process.env.S3_PORT),
  directory: process.env.S3_DIR,
  silent: true,
  configureBuckets: [{ name: process.env.S3_BUCKET, configs: [] }],
});
app.middleware.unshift(async (ctx, next) => {
  try {
    await next();
  } catch (err) {
    if (ctx.method !== "DELETE" || !("uploadId" in ctx.query) || err.code !== "MethodNotAllowed") throw err;
    const id = String(ctx.query.uploadId);
    const dir = require("node:path").join(app.store.getResourcePath(ctx.params.bucket, undefined, "uploads"), id);
    if (!/^[0-9a-f]+$/.test(id) || !fs.existsSync(dir)) {
      throw new S3Error("NoSuchUpload", "The specified upload does not exist.");
    }
    await fs.promises.rm(dir, { recursive: true });
    ctx.status = 204;
  }
});
app.run().then(({ port }) => console.log("LISTENING " + port), (err) => {
  console.error(String(err && err.stack || err));
  process.exit(1);
});
`;

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  bucket?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Data directory; a fresh temp dir by default (removed by stop()). */
  dir?: string;
  /** Refuse a body whose SHA-256 differs from its signed x-amz-content-sha256, as S3 does. Default true. */
  checkPayloadHash?: boolean;
}

/** A running s3rver. */
export interface S3Server {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  port: number;
  dir: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `s3://bucket/prefix`. */
  url(prefix?: string): string;
  /** The `backup:` fields that point at this server (path style, its keys). */
  config(): {
    accessKeyId: string;
    secretAccessKey: string;
    endpoint: string;
    region: string;
    forcePathStyle: boolean;
  };
  /** IDs of the multipart uploads started and neither completed nor aborted. */
  multipartUploads(): string[];
  /** Kills the server (SIGKILL when `hard`), keeping the data directory. */
  kill(hard?: boolean): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Sends `signal` to the server (SIGSTOP: it hangs, connections open; SIGCONT: it goes on). */
  signal(signal: Deno.Signal): void;
  /** Stops the server and removes its data directory (if it created it). */
  stop(): Promise<void>;
}

async function launch(env: Record<string, string>): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command("node", {
    // s3rver's continuation tokens use DES, which OpenSSL 3 only offers in its legacy provider.
    args: ["--openssl-legacy-provider", "-e", LAUNCHER],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = setTimeout(() => child.kill("SIGKILL"), 30000);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value;
      const m = /LISTENING (\d+)/.exec(seen);
      if (m) {
        // Keep draining stdout so the child never blocks on a full pipe.
        (async () => {
          while (!(await reader.read()).done) { /* discard */ }
        })().catch(() => {});
        return { child, port: Number(m[1]) };
      }
    }
  } finally {
    clearTimeout(deadline);
  }
  const err = await new Response(child.stderr).text();
  await child.status;
  throw new Error(`s3rver did not start: ${seen}${err}`);
}

/** Starts s3rver; call `stop()` in a finally block. */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "s3rver-" });
  const bucket = opts.bucket ?? "vigo-test";
  const accessKeyId = opts.accessKeyId ?? "VIGOTESTKEY";
  const secretAccessKey = opts.secretAccessKey ?? S3_SECRET_ACCESS_KEY;
  const env = {
    S3RVER_DIR,
    S3_KEY: accessKeyId,
    S3_SECRET: secretAccessKey,
    S3_DIR: dir,
    S3_BUCKET: bucket,
    S3_PORT: "0",
    S3_CHECK_PAYLOAD: opts.checkPayloadHash === false ? "0" : "1",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  };
  let { child, port } = await launch(env);
  let alive = true;
  const endpoint = `http://127.0.0.1:${port}`;
  const kill = async (hard = false) => {
    if (!alive) return;
    alive = false;
    child.kill(hard ? "SIGKILL" : "SIGTERM");
    await child.status;
    await child.stderr.cancel().catch(() => {});
  };
  return {
    endpoint,
    port,
    dir,
    bucket,
    accessKeyId,
    secretAccessKey,
    url: (prefix = "") => `s3://${bucket}/${prefix}`.replace(/\/$/, ""),
    config: () => ({ accessKeyId, secretAccessKey, endpoint, region: "us-east-1", forcePathStyle: true }),
    multipartUploads() {
      try {
        return [...Deno.readDirSync(`${dir}/${bucket}/._S3rver_uploads`)].map((e) => e.name).sort();
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return [];
        throw err;
      }
    },
    kill,
    signal: (signal) => child.kill(signal),
    async restart() {
      await kill();
      // The port was just released by our own child; retry briefly in case the kernel lags.
      for (let i = 0;; i++) {
        try {
          ({ child } = await launch({ ...env, S3_PORT: String(port) }));
          alive = true;
          return;
        } catch (err) {
          if (i >= 20) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async stop() {
      await kill();
      if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
