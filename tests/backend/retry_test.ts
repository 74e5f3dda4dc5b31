/** The retry wrapper's policy: what is retried, how long it waits, what it logs. */
import {
  backoffDelay,
  isRetryable,
  retryBackend,
  TransientError,
  withRetries,
} from "../../lib/backend/retry.ts";
import { BackendError, NotFoundError } from "../../lib/errors.ts";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

Deno.test("retry: transient failures are retried, auth and not-found never", () => {
  assert(isRetryable(new TransientError("503", 503)));
  assert(isRetryable(Object.assign(new Error("reset"), { code: "ECONNRESET" })));
  assert(isRetryable(new DOMException("timed out", "TimeoutError")));
  assert(!isRetryable(new BackendError("s3://b/k: request signature rejected (SignatureDoesNotMatch)")));
  assert(!isRetryable(new NotFoundError("s3://b/k: no such object")));
  assert(!isRetryable(new Error("bug")));
  assert(!isRetryable(new TypeError("x is undefined")), "a bug is not retried");
});

Deno.test("retry: full jitter stays within the exponential cap", () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
  assertEquals(backoffDelay(0, policy, () => 0.999), 99);
  assertEquals(backoffDelay(3, policy, () => 0.5), 400);
  assertEquals(backoffDelay(10, policy, () => 0.999), 999);
  assertEquals(backoffDelay(5, policy, () => 0), 0);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, policy);
    assert(d >= 0 && d < 400);
  }
});

Deno.test("retry: gives up after maxRetries with the count in the message; logs each retry", async () => {
  const logs: string[] = [];
  let calls = 0;
  const err = await assertRejects(
    () =>
      withRetries("put s3://b/k", () => {
        calls++;
        return Promise.reject(new TransientError("s3://b/k: server error 503 (SlowDown)", 503));
      }, { maxRetries: 3, baseDelayMs: 1, log: (l) => logs.push(l) }),
    BackendError,
  );
  assertEquals(calls, 4);
  assertEquals(logs.length, 3);
  assert(logs[2].startsWith("vigocli: retry 3/3 in "), logs[2]);
  assert(err.message.endsWith("(gave up after 3 retries)"), err.message);
  let once = 0;
  await assertRejects(() =>
    withRetries("x", () => {
      once++;
      return Promise.reject(new NotFoundError("gone"));
    }, { baseDelayMs: 1 }), NotFoundError);
  assertEquals(once, 1);
});

Deno.test("retry: a listing that fails part-way resumes without duplicates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const inner = new FileBackend(`file://${dir}`);
    for (const k of ["a", "b", "c", "d"]) await inner.put(`p/${k}`, new TextEncoder().encode(k));
    let failed = false;
    const flaky = {
      ...inner,
      url: inner.url,
      put: inner.put.bind(inner),
      get: inner.get.bind(inner),
      stat: inner.stat.bind(inner),
      delete: inner.delete.bind(inner),
      close: inner.close.bind(inner),
      async *list(prefix: string) {
        for await (const o of inner.list(prefix)) {
          if (o.key === "p/c" && !failed) {
            failed = true;
            throw new TransientError("connection reset mid-listing");
          }
          yield o;
        }
      },
    };
    const keys: string[] = [];
    for await (const o of retryBackend(flaky, { baseDelayMs: 1, log: () => {} }).list("p/")) keys.push(o.key);
    assertEquals(keys, ["p/a", "p/b", "p/c", "p/d"]);
    assert(failed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
