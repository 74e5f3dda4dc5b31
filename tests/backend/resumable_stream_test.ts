/**
 * The resumed download both S3/GCS and SFTP hand out (lib/backend/resumable_stream.ts), on in-memory
 * streams: its decisions (resume, final, retries spent; a short body; the give-up message), S3's rule of
 * which failures are a lost connection (lib/backend/s3_api/download.ts), and the stream's use of them:
 * a short body read on, the chunks counted, a reader's cancel never resumed. SFTP's rules are in
 * tests/sftp/resumable_read_test.ts; the real servers in s3_backend_test.ts and tests/sftp.
 */
import { BackendError, ExitCode, NotFoundError } from "../../lib/errors.ts";
import { TransientError } from "../../lib/backend/retry.ts";
import { gaveUpError, resumableStream, resumeStep, shortBody } from "../../lib/backend/resumable_stream.ts";
import { lostConnection } from "../../lib/backend/s3_api/download.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { bytesOf, streamOf } from "./chunk_streams.ts";

const WHERE = "s3://b/a.tar.gz";

Deno.test("resumable stream: resumeStep resumes what the policy retries, until its retries are spent", () => {
  const lost = new TransientError("lost");
  assertEquals(resumeStep(lost, 0, {}), "resume");
  assertEquals(resumeStep(lost, 5, {}), "resume");
  assertEquals(resumeStep(lost, 6, {}), "spent");
  assertEquals(resumeStep(lost, 1, { maxRetries: 2 }), "resume");
  assertEquals(resumeStep(lost, 2, { maxRetries: 2 }), "spent");
  assertEquals(resumeStep(lost, 0, { maxRetries: 0 }), "spent");
  // Final before spent: a changed object is reported as such, not as retries given up.
  assertEquals(resumeStep(new BackendError("changed"), 0, {}), "final");
  assertEquals(resumeStep(new BackendError("changed"), 6, {}), "final");
  assertEquals(resumeStep(new TypeError("body"), 0, {}), "final");
  assertEquals(resumeStep(new TypeError("body"), 0, { isRetryable: () => true }), "resume");
  assertEquals(resumeStep(lost, 0, { isRetryable: () => false }), "final");
});

Deno.test("resumable stream: shortBody names a body that ended before its announced size", () => {
  assertEquals(shortBody(3, 5), "body ended at 3 of 5 bytes");
  assertEquals(shortBody(0, 1), "body ended at 0 of 1 bytes");
  assertEquals(shortBody(5, 5), undefined);
  assertEquals(shortBody(6, 5), undefined);
  assertEquals(shortBody(3, undefined), undefined);
  assertEquals(shortBody(3, NaN), undefined);
});

Deno.test("resumable stream: gaveUpError names the object once, the bytes, the cause and the retries", () => {
  const cause = new TransientError(`${WHERE}: server error 503 (SlowDown)`);
  const err = gaveUpError(WHERE, 7, 6, cause);
  assert(err instanceof BackendError);
  assertEquals(err.exitCode, ExitCode.Backend);
  assertEquals(err.cause, cause);
  assertEquals(
    err.message,
    `${WHERE}: download failed after 7 bytes: server error 503 (SlowDown) (gave up after 6 retries)`,
  );
  assertEquals(
    gaveUpError(WHERE, 0, 0, new TypeError("error reading a body from connection")).message,
    `${WHERE}: download failed after 0 bytes: error reading a body from connection (gave up after 0 retries)`,
  );
});

Deno.test("resumable stream: S3's lostConnection resumes any body failure and a transient answer only", () => {
  // Deno fails a cut body with a bare TypeError, which the retry decorator's rule calls a bug.
  assert(lostConnection(new TypeError("error reading a body from connection")));
  assert(lostConnection(Object.assign(new Error("reset"), { code: "ECONNRESET" })));
  assert(lostConnection(new TransientError(`${WHERE}: server error 503 (SlowDown)`, 503)));
  assert(!lostConnection(new BackendError(`${WHERE}: request failed: HTTP 412 (PreconditionFailed)`)));
  assert(!lostConnection(new NotFoundError(`${WHERE}: no such object`)));
});

Deno.test("resumable stream: a body shorter than its size is read on from where it ended", async () => {
  const logs: string[] = [];
  const offsets: number[] = [];
  const moved: number[] = [];
  const stream = resumableStream({
    first: streamOf([[1, 2], [3]]),
    reopen: (offset) => (offsets.push(offset), Promise.resolve(streamOf([[4, 5]]))),
    where: WHERE,
    retry: { baseDelayMs: 1, log: (l) => logs.push(l), isRetryable: lostConnection },
    size: 5,
    moved: (n) => moved.push(n),
  });
  assertEquals(await bytesOf(stream), [1, 2, 3, 4, 5]);
  assertEquals(offsets, [3]);
  assertEquals(moved, [2, 1, 2]);
  assertEquals(logs.map((l) => l.replace(/in \d+ ms/, "in N ms")), [
    `vigocli: retry 1/6 in N ms: get ${WHERE}: connection lost after 3 bytes`,
  ]);
  // Its full size read, a body ends there; without a size, wherever it ends.
  for (const size of [5, undefined]) {
    const whole = resumableStream({
      first: streamOf([[1, 2], [3, 4, 5]]),
      reopen: () => Promise.reject(new Error("reopened")),
      where: WHERE,
      retry: { baseDelayMs: 1, log: (l) => logs.push(l) },
      size,
    });
    assertEquals(await bytesOf(whole), [1, 2, 3, 4, 5]);
  }
  assertEquals(logs.length, 1);
});

Deno.test("resumable stream: with no retries a short or failed body fails at once, saying where", async () => {
  const logs: string[] = [];
  const short = resumableStream({
    first: streamOf([[1, 2, 3]]),
    reopen: () => Promise.reject(new Error("reopened")),
    where: WHERE,
    retry: { maxRetries: 0, log: (l) => logs.push(l), isRetryable: lostConnection },
    size: 5,
  });
  const err = await assertRejects(() => bytesOf(short), BackendError);
  assertEquals(
    err.message,
    `${WHERE}: download failed after 3 bytes: body ended at 3 of 5 bytes (gave up after 0 retries)`,
  );
  const cut = resumableStream({
    first: streamOf([[1]], new TypeError("error reading a body from connection")),
    reopen: () => Promise.reject(new Error("reopened")),
    where: WHERE,
    retry: { maxRetries: 0, log: (l) => logs.push(l), isRetryable: lostConnection },
  });
  assert((await assertRejects(() => bytesOf(cut), BackendError)).message.includes("after 1 bytes"));
  assertEquals(logs, []);
});

Deno.test("resumable stream: a reader's cancel is not resumed, and a stream opened meanwhile is cancelled", async () => {
  const logs: string[] = [];
  let reopened = 0;
  // Cancelled during the backoff (its log line comes just before): nothing is opened again.
  const reading: { reader?: ReadableStreamDefaultReader<Uint8Array> } = {};
  const waiting = resumableStream({
    first: streamOf([[1]], new TransientError("lost")),
    reopen: () => (reopened++, Promise.resolve(streamOf([[2]]))),
    where: WHERE,
    retry: { baseDelayMs: 1, log: (l) => (logs.push(l), reading.reader?.cancel()), isRetryable: () => true },
  });
  const r1 = reading.reader = waiting.getReader();
  assertEquals((await r1.read()).value, new Uint8Array([1]));
  assertEquals((await r1.read()).done, true);
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(reopened, 0);

  // Cancelled while the object is opened again: the stream it gives is let go at once.
  let lateCancelled = false;
  let opened!: () => void;
  const reopening = resumableStream({
    first: streamOf([[1]], new TransientError("lost")),
    reopen: () =>
      new Promise((resolve) => {
        opened = () => resolve(streamOf([[2]], undefined, () => lateCancelled = true));
      }),
    where: WHERE,
    retry: { baseDelayMs: 1, maxDelayMs: 1, log: (l) => logs.push(l) },
  });
  const r2 = reopening.getReader();
  await r2.read();
  const next = r2.read();
  while (!opened) await new Promise((r) => setTimeout(r, 1));
  await r2.cancel();
  opened();
  assertEquals((await next).done, true);
  await new Promise((r) => setTimeout(r, 10));
  assert(lateCancelled, "the stream opened after the cancel was left open");
  assertEquals(logs.length, 2);
});

Deno.test({
  name: "resumable stream: a cancel during the backoff ends it at once, leaving no timer behind",
  // The op sanitizer fails a test that leaves a timer running: the backoff's, without the cancel ending it.
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    // Cancelled once the backoff runs, and from the retry line itself, before it starts.
    for (const inLogLine of [false, true]) {
      const delays: number[] = [];
      let reopened = 0;
      const reading: { reader?: ReadableStreamDefaultReader<Uint8Array> } = {};
      const stream = resumableStream({
        first: streamOf([[1]], new TransientError("lost")),
        reopen: () => (reopened++, Promise.resolve(streamOf([[2]]))),
        where: WHERE,
        // A backoff of days, so that one still running shows.
        retry: {
          baseDelayMs: 2e9,
          maxDelayMs: 2e9,
          log: (l) => {
            delays.push(Number(/in (\d+) ms/.exec(l)![1]));
            if (inLogLine) reading.reader?.cancel();
          },
        },
      });
      const reader = reading.reader = stream.getReader();
      assertEquals((await reader.read()).value, new Uint8Array([1]));
      const next = reader.read();
      while (delays.length === 0) await new Promise((r) => setTimeout(r, 1));
      assert(delays[0] > 1000, `a backoff of ${delays[0]} ms`);
      const start = performance.now();
      await reader.cancel();
      assertEquals((await next).done, true);
      // The pull that waited out the backoff has ended too, without opening the object again.
      await new Promise((r) => setTimeout(r, 10));
      assert(performance.now() - start < 1000, `the cancel took ${performance.now() - start} ms`);
      assertEquals(reopened, 0);
    }
  },
});

/** A body whose second read waits until the test fails it (`fail`), or until the reader cancels. */
function heldBody(): {
  stream: ReadableStream<Uint8Array>;
  waiting: () => boolean;
  fail: (err: Error) => void;
} {
  let pulls = 0;
  let fail: ((err: Error) => void) | undefined;
  const stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (pulls++ === 0) return ctl.enqueue(new Uint8Array([1, 2]));
      return new Promise<void>((resolve) => fail = (err) => (ctl.error(err), resolve()));
    },
  }, { highWaterMark: 0 });
  return { stream, waiting: () => fail !== undefined, fail: (err) => fail!(err) };
}

/** An S3 download of 5 bytes whose body gives the first 2, then waits: its log lines and reopens. */
function heldDownload() {
  const body = heldBody();
  const logs: string[] = [];
  const offsets: number[] = [];
  const stream = resumableStream({
    first: body.stream,
    reopen: (offset) => (offsets.push(offset), Promise.resolve(streamOf([[3, 4, 5]]))),
    where: WHERE,
    retry: { baseDelayMs: 1, log: (l) => logs.push(l), isRetryable: lostConnection },
    size: 5,
  });
  return { body, logs, offsets, reader: stream.getReader() };
}

Deno.test("resumable stream: a cancel during a read is no lost connection, though the body then ends short", async () => {
  const { body, logs, offsets, reader } = heldDownload();
  assertEquals((await reader.read()).value, new Uint8Array([1, 2]));
  const next = reader.read();
  while (!body.waiting()) await new Promise((r) => setTimeout(r, 1));
  // The cancel ends the body's read after 2 of its 5 bytes: a short body, were it not the cancel.
  await reader.cancel();
  assertEquals((await next).done, true);
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(logs, []);
  assertEquals(offsets, []);
});

Deno.test("resumable stream: a read that fails as the reader cancels is not resumed", async () => {
  const { body, logs, offsets, reader } = heldDownload();
  assertEquals((await reader.read()).value, new Uint8Array([1, 2]));
  const next = reader.read();
  while (!body.waiting()) await new Promise((r) => setTimeout(r, 1));
  // In one task, so that the cancel comes before the failed read reaches the stream's pull.
  body.fail(new TypeError("error reading a body from connection"));
  const cancelling = reader.cancel();
  assertEquals((await next).done, true);
  await cancelling;
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(logs, []);
  assertEquals(offsets, []);
});

Deno.test("resumable stream: a reopen that fails after the reader cancelled is not retried, nor announced", async () => {
  const logs: string[] = [];
  let reopens = 0;
  let refuse!: () => void;
  const stream = resumableStream({
    first: streamOf([[1]], new TransientError("lost")),
    reopen: () =>
      new Promise((_, reject) => {
        reopens++;
        refuse = () => reject(new TransientError(`${WHERE}: connection refused`));
      }),
    where: WHERE,
    retry: { baseDelayMs: 1, maxDelayMs: 1, log: (l) => logs.push(l) },
  });
  const reader = stream.getReader();
  await reader.read();
  const next = reader.read();
  while (!refuse) await new Promise((r) => setTimeout(r, 1));
  await reader.cancel();
  refuse();
  assertEquals((await next).done, true);
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(reopens, 1);
  assertEquals(logs.length, 1, logs.join("\n"));
});
