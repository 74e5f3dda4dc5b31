/**
 * S3-specific behaviour against the real SigV4-checking s3rver: refused credentials, multipart
 * uploads (parts, abort, size check), the server restarted mid-upload, the uploader killed with
 * SIGKILL mid-upload, and no retries on auth failures.
 */
import { join } from "node:path";
import { retryBackend } from "../../lib/backend/retry.ts";
import { BackendError } from "../../lib/errors.ts";
import { openS3Backend } from "../../lib/backend/s3/s3_backend.ts";
import { type S3Server, startS3Server } from "../helpers/s3_server.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { patternStream, streamDigest } from "./conformance.ts";
import { type FaultProxy, startFaultProxy } from "./fault_proxy.ts";

const MiB = 1024 * 1024;
const opts = { sanitizeResources: false, sanitizeOps: false };

/** Runs `fn` against a fresh s3rver reached through a fault proxy; stops both afterwards. */
async function withProxiedServer(fn: (server: S3Server, proxy: FaultProxy) => Promise<void>): Promise<void> {
  const server = await startS3Server();
  const proxy = startFaultProxy(server.endpoint);
  try {
    await fn(server, proxy);
  } finally {
    await proxy.stop();
    await server.stop();
  }
}

async function uploadsInProgress(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(join(d, e.name));
      else if (d.includes("uploads")) out.push(join(d, e.name));
    }
  };
  await walk(dir).catch(() => {});
  return out;
}

Deno.test({
  name: "s3: a wrong secret or unknown key is refused with a BackendError that never shows the secret",
  ...opts,
  async fn() {
    await withProxiedServer(async (server, proxy) => {
      const cfg = { ...server.config(), endpoint: proxy.endpoint };
      const wrong = retryBackend(
        openS3Backend(server.url("p"), { ...cfg, secretAccessKey: "not-the-secret-XYZ" }),
        { baseDelayMs: 1, log: () => {} },
      );
      const before = proxy.requests();
      const err = await assertRejects(() => wrong.put("k.txt", new TextEncoder().encode("x")), BackendError);
      assert(/SignatureDoesNotMatch/.test(err.message), err.message);
      assert(err.message.includes(`s3://${server.bucket}/p/k.txt`), err.message);
      assert(!err.message.includes("not-the-secret-XYZ"), "the secret never appears in messages");
      assertEquals(proxy.requests() - before, 1, "auth failures are not retried");
      await assertRejects(() => wrong.stat("k.txt"), BackendError);
      const unknown = openS3Backend(server.url("p"), { ...cfg, accessKeyId: "NOSUCHKEY" });
      const err2 = await assertRejects(() => unknown.get("k.txt"), BackendError);
      assert(/InvalidAccessKeyId/.test(err2.message), err2.message);
      // The right keys work against the same server, so the refusal was about the keys.
      const right = openS3Backend(server.url("p"), cfg);
      await right.put("k.txt", new TextEncoder().encode("x"));
      assertEquals((await right.stat("k.txt"))?.size, 1);
    });
  },
});

Deno.test({
  name: "s3: multipart upload sends bounded parts and verifies the stored size; a failure aborts it",
  ...opts,
  async fn() {
    await withProxiedServer(async (server, proxy) => {
      const b = openS3Backend(server.url("mp"), { ...server.config(), endpoint: proxy.endpoint }, {
        partSize: 5 * MiB,
      });
      const size = 23 * MiB + 5;
      const before = proxy.requests();
      await b.put("big.bin", patternStream(size, 11));
      // init + 5 parts + complete + HEAD size check.
      assertEquals(proxy.requests() - before, 8);
      assertEquals(await streamDigest(await b.get("big.bin")), await streamDigest(patternStream(size, 11)));
      assertEquals(await uploadsInProgress(server.dir), []);
      const mark = proxy.log.length;
      await assertRejects(() => b.put("broken.bin", patternStream(size, 12, 12 * MiB)));
      assertEquals(await b.stat("broken.bin"), null);
      // s3rver does not implement AbortMultipartUpload (it answers MethodNotAllowed), so check that
      // the abort was sent rather than that the parts are gone.
      const sent = proxy.log.slice(mark);
      assert(sent.some((l) => /^DELETE \/[^?]+\/mp\/broken\.bin\?uploadId=\w+$/.test(l)), sent.join("\n"));
    });
  },
});

Deno.test({
  name: "s3: server killed and restarted mid-upload: parts are retried and the object completes",
  ...opts,
  async fn() {
    const server = await startS3Server();
    try {
      const logs: string[] = [];
      const b = openS3Backend(server.url("restart"), server.config(), {
        partSize: 5 * MiB,
        retry: { maxRetries: 10, baseDelayMs: 100, maxDelayMs: 1000, log: (l) => logs.push(l) },
      });
      const size = 30 * MiB;
      let sent = 0;
      let restarted: Promise<void> | undefined;
      const src = patternStream(size, 21);
      const slow = src.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          async transform(chunk, ctl) {
            sent += chunk.length;
            if (sent === 12 * MiB) {
              // Mid-upload: parts 1-2 are stored, the server goes down for a second.
              restarted = server.kill(true).then(() => new Promise((r) => setTimeout(r, 1000)))
                .then(() => server.restart());
            }
            await new Promise((r) => setTimeout(r, 5));
            ctl.enqueue(chunk);
          },
        }),
      );
      await b.put("resumed.bin", slow);
      await restarted;
      assert(logs.length > 0, "the outage was retried and logged");
      assert(
        logs.every((l) => /^vigocli: retry \d+\/10 in \d+ ms: upload part \d+ of s3:\/\//.test(l)),
        logs[0],
      );
      assertEquals((await b.stat("resumed.bin"))?.size, size);
      assertEquals(
        await streamDigest(await b.get("resumed.bin")),
        await streamDigest(patternStream(size, 21)),
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "s3: an uploader killed with SIGKILL mid-upload leaves nothing that lists as complete",
  ...opts,
  async fn() {
    const server = await startS3Server();
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("./fixtures/slow_upload.ts", import.meta.url).pathname],
        env: { S3_TEST_CONFIG: JSON.stringify({ url: server.url("kill"), ...server.config() }) },
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("PART2")) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`uploader exited early: ${out}`);
        out += value;
      }
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
      const b = openS3Backend(server.url("kill"), server.config());
      assertEquals(await b.stat("victim.bin"), null);
      const listed = [];
      for await (const o of b.list("")) listed.push(o.key);
      assertEquals(listed, ["before.txt"]);
      assert((await uploadsInProgress(server.dir)).length > 0, "the upload really was in progress");
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "s3: a download cut by a server restart resumes with a Range request for the same version",
  ...opts,
  async fn() {
    const server = await startS3Server();
    try {
      const logs: string[] = [];
      const b = openS3Backend(server.url("dl"), server.config(), {
        retry: { maxRetries: 10, baseDelayMs: 100, maxDelayMs: 1000, log: (l) => logs.push(l) },
      });
      const size = 40 * MiB;
      await b.put("big.bin", patternStream(size, 31));
      const body = await b.get("big.bin");
      const reader = body.getReader();
      const { createHash } = await import("node:crypto");
      const h = createHash("sha256");
      let got = 0;
      let killed = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        h.update(value);
        got += value.length;
        if (!killed && got > 2 * MiB) {
          killed = true;
          await server.kill(true);
          setTimeout(() => server.restart(), 500);
        }
      }
      assertEquals({ hex: h.digest("hex"), size: got }, await streamDigest(patternStream(size, 31)));
      assert(logs.some((l) => /get s3:\/\/.*connection lost after \d+ bytes/.test(l)), logs.join("\n"));
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "s3: a multipart upload that fails and cannot be aborted says so and names it",
  ...opts,
  async fn() {
    const server = await startS3Server();
    try {
      const b = openS3Backend(server.url("left"), server.config(), {
        partSize: 5 * MiB,
        retry: { maxRetries: 0 },
      });
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(ctl) {
          // The server dies once the upload is under way: the next part fails, and so does the abort.
          if (sent === 12 * MiB) await server.kill(true);
          if (sent >= 30 * MiB) return ctl.close();
          ctl.enqueue(new Uint8Array(MiB).fill(7));
          sent += MiB;
        },
      });
      const err = await assertRejects(() => b.put("big.bin", body));
      // It said nothing of the upload it left.
      assert(
        /; multipart upload \S+ could not be aborted \(.*\); a bucket lifecycle rule/.test(err.message),
        err.message,
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "s3: a HEAD refused for a wrong secret names the likely causes, not 'HTTP 403, HTTP 403'",
  ...opts,
  async fn() {
    const server = await startS3Server();
    try {
      const b = openS3Backend(server.url("denied"), { ...server.config(), secretAccessKey: "wrong" }, {
        retry: { maxRetries: 0 },
      });
      // A HEAD's answer has no body: the error said "access denied (HTTP 403, HTTP 403)".
      const err = await assertRejects(() => b.stat("a.tar.gz"));
      assertEquals(
        (err as Error).message,
        "s3://vigo-test/denied/a.tar.gz: access denied (HTTP 403: a wrong secret key or access key id, or no " +
          "permission on the bucket)",
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "s3: a download whose server goes silent mid-body reads on after the timeout, not waiting for good",
  ...opts,
  async fn() {
    const server = await startS3Server();
    try {
      const logs: string[] = [];
      const b = openS3Backend(server.url("hang"), server.config(), {
        timeoutMs: 1000,
        retry: { maxRetries: 10, baseDelayMs: 100, maxDelayMs: 500, log: (l) => logs.push(l) },
      });
      const size = 64 * MiB;
      await b.put("big.bin", patternStream(size, 37));
      const reader = (await b.get("big.bin")).getReader();
      const { createHash } = await import("node:crypto");
      const h = createHash("sha256");
      let got = 0;
      let stopped = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        h.update(value);
        got += value.length;
        if (!stopped && got > 2 * MiB) {
          stopped = true;
          // Hung, its connections open: without a timeout on the body the read waited until SIGCONT and
          // then simply went on (no retry); it must give up on the silent connection and read on.
          server.signal("SIGSTOP");
          setTimeout(() => server.signal("SIGCONT"), 4000);
        }
      }
      assertEquals({ hex: h.digest("hex"), size: got }, await streamDigest(patternStream(size, 37)));
      assert(logs.some((l) => /get s3:\/\/.*connection lost after \d+ bytes/.test(l)), logs.join("\n"));
    } finally {
      server.signal("SIGCONT");
      await server.stop();
    }
  },
});

Deno.test({
  name: "s3: a lost answer to CompleteMultipartUpload is recognised by the object, not reported as failure",
  ...opts,
  async fn() {
    await withProxiedServer(async (server, proxy) => {
      const logs: string[] = [];
      const b = openS3Backend(server.url("lost"), { ...server.config(), endpoint: proxy.endpoint }, {
        partSize: 5 * MiB,
        retry: { baseDelayMs: 10, log: (l) => logs.push(l) },
      });
      proxy.loseResponse(/^POST \/[^?]+\/lost\/obj\.bin\?uploadId=/);
      await b.put("obj.bin", patternStream(12 * MiB, 41));
      assert(logs.some((l) => l.includes("complete multipart upload")), logs.join("\n"));
      assertEquals(proxy.log.filter((l) => l.startsWith("POST") && l.includes("uploadId=")).length, 2);
      assertEquals(
        await streamDigest(await b.get("obj.bin")),
        await streamDigest(patternStream(12 * MiB, 41)),
      );
      // If the object is not there (deleted between the lost answer and the retry), it is a failure.
      const direct = openS3Backend(server.url("lost"), server.config());
      proxy.loseResponse(/^POST \/[^?]+\/lost\/gone\.bin\?uploadId=/, () => direct.delete(["gone.bin"]));
      const err = await assertRejects(() => b.put("gone.bin", patternStream(12 * MiB, 42)), BackendError);
      assert(err.message.includes("NoSuchUpload"), err.message);
      assertEquals(await b.stat("gone.bin"), null);
    });
  },
});

Deno.test({
  name: "s3: virtual-host style (the AWS default) signs and addresses BUCKET.s3.REGION.amazonaws.com",
  ...opts,
  async fn() {
    // The child reaches "amazonaws.com" through this proxy (HTTP_PROXY), which forwards to s3rver
    // keeping the Host header, so s3rver sees exactly what AWS would.
    await withProxiedServer(async (server, proxy) => {
      const cfg = {
        ...server.config(),
        endpoint: "http://s3.us-east-1.amazonaws.com",
        forcePathStyle: false,
      };
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("./fixtures/vhost_roundtrip.ts", import.meta.url).pathname],
        env: {
          S3_TEST_CONFIG: JSON.stringify({ url: server.url("vh"), ...cfg }),
          HTTP_PROXY: proxy.endpoint,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(text);
      assertEquals(r.keys, [
        `vhost/a b ü.bin=${11 * MiB}`,
        `vhost/sized.bin=${11 * MiB}`,
        "vhost/small.txt=5",
      ]);
      assertEquals(r.same, true);
      assertEquals(r.afterDelete, null);
      assert(/access denied|SignatureDoesNotMatch/.test(r.refused), r.refused);
      assert(
        proxy.log.length > 5 && proxy.log.every((l) => !l.includes(`/${server.bucket}/`)),
        proxy.log.join("\n"),
      );
    });
  },
});

Deno.test({
  name: "s3: listings follow continuation tokens across pages",
  ...opts,
  async fn() {
    await withProxiedServer(async (server, proxy) => {
      const b = openS3Backend(server.url("pages"), { ...server.config(), endpoint: proxy.endpoint }, {
        listPageSize: 7,
      });
      const keys = Array.from({ length: 25 }, (_, i) => `k/${String(i).padStart(3, "0")}`);
      await Promise.all(keys.map((k) => b.put(k, new TextEncoder().encode(k))));
      const mark = proxy.log.length;
      const listed: string[] = [];
      for await (const o of b.list("k/")) listed.push(o.key);
      assertEquals(listed, keys);
      const pages = proxy.log.slice(mark);
      assertEquals(pages.length, 4);
      assert(pages.slice(1).every((l) => l.includes("continuation-token=")), pages.join("\n"));
    });
  },
});
