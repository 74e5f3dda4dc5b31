/**
 * Uploads under the one retry decorator, against the S3 server behind a proxy that answers 503
 * SlowDown: a replayable stream body (a function opening a fresh stream) is sent again whole by
 * the decorator and by nothing else; a bare stream, which cannot be replayed, is left to S3's
 * retry of its buffered parts, and so is a sized body above the single-PUT cutoff (a large file
 * must not be resent from its first byte because one part failed).
 */
import { retryBackend } from "../../lib/backend/retry.ts";
import { openS3Backend } from "../../lib/backend/s3/s3_backend.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { assert, assertEquals } from "./assert.ts";
import { patternStream, streamDigest } from "./conformance.ts";
import { startFaultProxy } from "./fault_proxy.ts";

const MiB = 1024 * 1024;

Deno.test({
  name: "retry: a replayable stream upload is reopened and sent again through 503s; a bare stream is not",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startS3Server();
    const proxy = startFaultProxy(server.endpoint);
    try {
      const decoratorLog: string[] = [];
      const partLog: string[] = [];
      const plain = openS3Backend(server.url("ru"), { ...server.config(), endpoint: proxy.endpoint }, {
        partSize: 5 * MiB,
        retry: { baseDelayMs: 1, log: (l) => partLog.push(l) },
      });
      const b = retryBackend(plain, { baseDelayMs: 1, log: (l) => decoratorLog.push(l) });
      const size = 11 * MiB + 3;

      // Multipart: the first two requests (initiate, then its retry) are refused.
      let opens = 0;
      proxy.failNext(2);
      await b.put("replay.bin", () => {
        opens++;
        return patternStream(size, 31);
      });
      assertEquals(proxy.pending(), 0);
      assertEquals(opens, 3, "one fresh stream per attempt");
      assertEquals(decoratorLog.length, 2, decoratorLog.join("\n"));
      assert(decoratorLog[0].startsWith("vigocli: retry 1/6 in "), decoratorLog[0]);
      assertEquals(partLog, [], "S3 does not stack its own retries on a replayable body");
      assertEquals(
        await streamDigest(await b.get("replay.bin")),
        await streamDigest(patternStream(size, 31)),
      );

      // A bare stream goes through the decorator once; S3 retries the refused request itself.
      decoratorLog.length = 0;
      proxy.failNext(1);
      await b.put("once.bin", patternStream(size, 32));
      assertEquals(proxy.pending(), 0);
      assertEquals(decoratorLog, []);
      assertEquals(partLog.length, 1, partLog.join("\n"));
      assertEquals(await streamDigest(await b.get("once.bin")), await streamDigest(patternStream(size, 32)));
    } finally {
      await proxy.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name: "retry: a sized body above the single-PUT cutoff resends only the failed part, not the whole body",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startS3Server();
    const proxy = startFaultProxy(server.endpoint);
    try {
      const decoratorLog: string[] = [];
      const partLog: string[] = [];
      const plain = openS3Backend(server.url("rs"), { ...server.config(), endpoint: proxy.endpoint }, {
        partSize: 5 * MiB,
        singlePutMax: 5 * MiB,
        retry: { baseDelayMs: 1, log: (l) => partLog.push(l) },
      });
      const b = retryBackend(plain, { baseDelayMs: 1, log: (l) => decoratorLog.push(l) });
      const size = 16 * MiB + 5;
      let opens = 0;
      // Part 2 reaches the server, but its answer is lost: only that part may be sent again.
      proxy.loseResponse(/[?&]partNumber=2&/);
      await b.put("sized.bin", {
        size,
        open: () => (opens++, patternStream(size, 33)),
      });
      assertEquals(opens, 1, "the body is read once");
      assertEquals(decoratorLog, [], "the decorator does not resend the whole body");
      assertEquals(partLog.length, 1, partLog.join("\n"));
      assert(/part 2 of /.test(partLog[0]), partLog[0]);
      assertEquals(proxy.log.filter((l) => /[?&]partNumber=1&/.test(l)).length, 1, proxy.log.join("\n"));
      assertEquals(
        await streamDigest(await b.get("sized.bin")),
        await streamDigest(patternStream(size, 33)),
      );
    } finally {
      await proxy.stop();
      await server.stop();
    }
  },
});
