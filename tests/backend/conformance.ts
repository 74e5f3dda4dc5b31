/**
 * The ONE backend conformance suite. Every backend (file, S3, GCS, SFTP) is done when this passes
 * against it: `backendConformance("s3", setup)` registers one Deno test whose steps run the same
 * cases against whatever `setup` opens. A new backend needs only a setup function.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import type { Backend, ObjectInfo } from "../../lib/backend/backend.ts";
import { retryBackend, TransientError } from "../../lib/backend/retry.ts";
import { ExistsError, NotFoundError } from "../../lib/errors.ts";

/** What a backend's setup hands to the suite. */
export interface ConformanceTarget {
  /** A fresh, empty backend root. */
  backend: Backend;
  /** Stops servers and removes temp dirs. */
  teardown(): Promise<void>;
  /**
   * Makes the next `n` requests fail transiently at the transport (e.g. a proxy answering 503
   * SlowDown). When absent, the suite injects the failures in a wrapper around the backend.
   */
  failNext?(n: number): void;
  /** How many injected failures are still pending (to prove they were consumed). */
  pendingFailures?(): number;
}

/** A proxy in front of a backend's server that fails the next requests (or connections) on demand. */
export interface FailingProxy {
  failNext(n: number): void;
  pending(): number;
  stop(): Promise<void>;
}

/** The target for a backend reached through `proxy`; teardown stops the proxy, then `stopServers`. */
export function proxiedTarget(
  backend: Backend,
  proxy: FailingProxy,
  stopServers: () => Promise<void>,
): ConformanceTarget {
  return {
    backend,
    failNext: (n) => proxy.failNext(n),
    pendingFailures: () => proxy.pending(),
    async teardown() {
      await proxy.stop();
      await stopServers();
    },
  };
}

/** Tuning for backends with different thresholds. */
export interface ConformanceOptions {
  /** Size of the "large object" case; should exceed the backend's multipart/chunk threshold. */
  largeSize?: number;
  /** Deno test `sanitizeResources`/`sanitizeOps` (network clients may keep sockets pooled). */
  sanitize?: boolean;
  /** The backend refuses `put(…, { noReplace: true })` onto an existing object (file, sftp). */
  noReplace?: boolean;
}

/** Deterministic pseudo-random bytes (xorshift), so large bodies need no big buffers to check. */
export function patternStream(size: number, seed: number, failAfter?: number): ReadableStream<Uint8Array> {
  let sent = 0;
  let x = seed >>> 0 || 1;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (failAfter !== undefined && sent >= failAfter) {
        ctl.error(new Error("producer failed mid-upload (injected)"));
        return;
      }
      if (sent >= size) return ctl.close();
      const n = Math.min(1 << 20, size - sent);
      const chunk = new Uint8Array(n);
      const words = new Uint32Array(chunk.buffer, 0, n >>> 2);
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      for (let i = words.length * 4; i < n; i++) chunk[i] = i & 0xff;
      sent += n;
      ctl.enqueue(chunk);
    },
  });
}

/** SHA-256 hex of a stream, consumed chunk by chunk. */
export async function streamDigest(
  stream: ReadableStream<Uint8Array>,
): Promise<{ hex: string; size: number }> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  let size = 0;
  for await (const c of stream) {
    h.update(c);
    size += c.length;
  }
  return { hex: h.digest("hex"), size };
}

async function readAll(backend: Backend, key: string): Promise<string> {
  return await new Response(await backend.get(key)).text();
}

async function listAll(backend: Backend, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of backend.list(prefix)) out.push(o);
  return out;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** Wraps a backend so that the next n calls throw a TransientError (for backends without a proxy). */
function faultInjecting(inner: Backend): { backend: Backend; failNext(n: number): void; pending(): number } {
  let left = 0;
  const trip = () => {
    if (left > 0) {
      left--;
      throw new TransientError("injected transient failure", 503);
    }
  };
  const backend: Backend = {
    url: inner.url,
    put: async (k, b, o) => (trip(), await inner.put(k, b, o)),
    get: async (k) => (trip(), await inner.get(k)),
    stat: async (k) => (trip(), await inner.stat(k)),
    list: (p) => ({
      async *[Symbol.asyncIterator]() {
        trip();
        yield* inner.list(p);
      },
    }),
    delete: async (k) => (trip(), await inner.delete(k)),
    close: () => inner.close(),
  };
  return { backend, failNext: (n) => void (left = n), pending: () => left };
}

/** Registers the conformance suite for one backend. */
export function backendConformance(
  name: string,
  setup: () => Promise<ConformanceTarget>,
  opts: ConformanceOptions = {},
): void {
  const largeSize = opts.largeSize ?? 20 * 1024 * 1024 + 12345;
  Deno.test({
    name: `backend conformance: ${name}`,
    sanitizeResources: opts.sanitize ?? false,
    sanitizeOps: opts.sanitize ?? false,
    async fn(t) {
      const target = await setup();
      const b = target.backend;
      try {
        await t.step("write, read, stat, overwrite", async () => {
          await b.put("basic/one.txt", enc("hello"));
          assertEquals(await readAll(b, "basic/one.txt"), "hello");
          const st = await b.stat("basic/one.txt");
          assertEquals(st?.size, 5);
          assertEquals(st?.key, "basic/one.txt");
          assert(st && Math.abs(st.mtime.getTime() - Date.now()) < 10 * 60_000, "mtime is near now");
          await b.put("basic/one.txt", enc("replaced!"));
          assertEquals(await readAll(b, "basic/one.txt"), "replaced!");
          await b.put("basic/empty", new Uint8Array(0));
          assertEquals((await b.stat("basic/empty"))?.size, 0);
          assertEquals(await readAll(b, "basic/empty"), "");
        });

        await t.step(
          "noReplace: refused onto an existing object (where the backend can), stored when new",
          async () => {
            await b.put("noreplace/new", patternStream(4096, 5), { noReplace: true });
            assertEquals((await b.stat("noreplace/new"))?.size, 4096);
            await b.put("noreplace/kept", enc("first"));
            const again = b.put("noreplace/kept", enc("second"), { noReplace: true });
            if (opts.noReplace) {
              await assertRejects(() => again, ExistsError);
              await assertRejects(
                () => b.put("noreplace/kept", patternStream(4096, 6), { noReplace: true }),
                ExistsError,
              );
              assertEquals(await readAll(b, "noreplace/kept"), "first");
              assertEquals((await listAll(b, "noreplace/")).map((o) => o.key), [
                "noreplace/kept",
                "noreplace/new",
              ]);
            } else {
              // S3 and GCS replace regardless (documented): their callers check before uploading.
              await again;
              assertEquals(await readAll(b, "noreplace/kept"), "second");
            }
          },
        );

        await t.step("missing objects: get throws NotFoundError, stat is null", async () => {
          await assertRejects(() => b.get("basic/missing"), NotFoundError);
          assertEquals(await b.stat("basic/missing"), null);
        });

        await t.step("list: recursive, by prefix, ascending, with sizes", async () => {
          const keys = ["list/b/2", "list/a", "list/b/1", "list/c/d/e", "listx/other"];
          for (const [i, k] of keys.entries()) await b.put(k, enc("x".repeat(i + 1)));
          const got = await listAll(b, "list/");
          assertEquals(got.map((o) => o.key), ["list/a", "list/b/1", "list/b/2", "list/c/d/e"]);
          assertEquals(got.map((o) => o.size), [2, 3, 1, 4]);
          assertEquals((await listAll(b, "list/b/")).map((o) => o.key), ["list/b/1", "list/b/2"]);
          assertEquals((await listAll(b, "nothing-here/")).length, 0);
          assert(
            (await listAll(b, "")).some((o) => o.key === "listx/other"),
            "empty prefix lists everything",
          );
        });

        await t.step("delete: one, many, missing is not an error", async () => {
          const many = Array.from({ length: 25 }, (_, i) => `del/k${String(i).padStart(2, "0")}`);
          await Promise.all(many.map((k) => b.put(k, enc(k))));
          await b.delete(["del/k00"]);
          assertEquals(await b.stat("del/k00"), null);
          await b.delete([...many, "del/never-existed"]);
          assertEquals((await listAll(b, "del/")).length, 0);
          await b.delete([]);
        });

        await t.step("names with spaces and unicode round-trip through put/list/get/delete", async () => {
          const names = [
            "names/dir with spaces/file name.txt",
            "names/unicode/日本語のファイル.db",
            "names/unicode/ünïcödé – ✓.bin",
            "names/emoji/😀 smile.txt",
            "names/special/a+b=c&d%20e;f,g@h'i(j)k!l*m~n.txt",
          ];
          for (const n of names) await b.put(n, enc(`content of ${n}`));
          for (const n of names) assertEquals(await readAll(b, n), `content of ${n}`);
          const listed = (await listAll(b, "names/")).map((o) => o.key);
          assertEquals([...listed].sort(), [...names].sort());
          await b.delete(names);
          assertEquals((await listAll(b, "names/")).length, 0);
        });

        await t.step(`large object (${largeSize} bytes) streamed in and out`, async () => {
          await b.put("large/blob", patternStream(largeSize, 7));
          assertEquals((await b.stat("large/blob"))?.size, largeSize);
          const want = await streamDigest(patternStream(largeSize, 7));
          assertEquals(await streamDigest(await b.get("large/blob")), want);
          assertEquals((await listAll(b, "large/")).map((o) => [o.key, o.size]), [["large/blob", largeSize]]);
        });

        await t.step(`a body of known size (${largeSize} bytes, as a file) stored whole`, async () => {
          await b.put("sized/blob", { size: largeSize, open: () => patternStream(largeSize, 9) });
          assertEquals(
            await streamDigest(await b.get("sized/blob")),
            await streamDigest(patternStream(largeSize, 9)),
          );
        });

        await t.step("concurrent writers: distinct keys all land, same key ends whole", async () => {
          await Promise.all(
            Array.from({ length: 8 }, (_, i) => b.put(`conc/k${i}`, enc(`v${i}`.repeat(1000)))),
          );
          for (let i = 0; i < 8; i++) assertEquals(await readAll(b, `conc/k${i}`), `v${i}`.repeat(1000));
          const bodies = Array.from({ length: 4 }, (_, i) => String(i).repeat(100_000 + i));
          await Promise.all(bodies.map((body) => b.put("conc/same", enc(body))));
          const final = await readAll(b, "conc/same");
          assert(bodies.includes(final), "the surviving object is exactly one writer's body");
        });

        await t.step("a failed upload is never listed or read as complete", async () => {
          await b.put("partial/obj", enc("previous version"));
          await assertRejects(() => b.put("partial/obj", patternStream(largeSize, 3, largeSize - (1 << 20))));
          await assertRejects(() => b.put("partial/new", patternStream(largeSize, 4, largeSize - (1 << 20))));
          assertEquals(await readAll(b, "partial/obj"), "previous version");
          assertEquals(await b.stat("partial/new"), null);
          assertEquals((await listAll(b, "partial/")).map((o) => o.key), ["partial/obj"]);
        });

        await t.step("transient failures are retried", async () => {
          const logs: string[] = [];
          const policy = { maxRetries: 5, baseDelayMs: 10, maxDelayMs: 50, log: (l: string) => logs.push(l) };
          let inner = b;
          let failNext = target.failNext?.bind(target);
          let pending = target.pendingFailures?.bind(target);
          if (!failNext) {
            const f = faultInjecting(b);
            inner = f.backend;
            failNext = f.failNext;
            pending = f.pending;
          }
          const r = retryBackend(inner, policy);
          failNext(2);
          await r.put("retry/obj", enc("survived"));
          failNext(1);
          await r.put("retry/sized", { size: 8, open: () => new Blob([enc("survived")]).stream() });
          assertEquals(await readAll(r, "retry/sized"), "survived");
          await r.delete(["retry/sized"]);
          failNext(2);
          assertEquals(await new Response(await r.get("retry/obj")).text(), "survived");
          failNext(1);
          assertEquals((await r.stat("retry/obj"))?.size, 8);
          failNext(1);
          assertEquals((await listAll(r, "retry/")).map((o) => o.key), ["retry/obj"]);
          failNext(1);
          await r.delete(["retry/obj"]);
          assertEquals(await r.stat("retry/obj"), null);
          assertEquals(pending?.(), 0);
          assert(logs.length >= 7, `each injected failure logged a retry (${logs.length})`);
          assert(logs.every((l) => /retry \d+\/5/.test(l)), logs.join("\n"));
          failNext(100);
          const err = await assertRejects(() => r.stat("retry/obj"));
          assert(String((err as Error).message).includes("gave up after 5 retries"), String(err));
          failNext(0);
        });
      } finally {
        await b.close();
        await target.teardown();
      }
    },
  });
}
