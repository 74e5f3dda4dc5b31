/**
 * The resumption rules of SFTP downloads (lib/backend/resumable_stream.ts under SFTP's policy, the
 * file's identity from lib/backend/sftp/file_identity.ts) on in-memory streams:
 * where a resumed read starts, how retries are counted, logged and given up, and which differences of
 * the reopened file refuse it. The real sessions are in download_resume_cli_test.ts and
 * sftp_subsystem_death_test.ts.
 */
import { BackendError } from "../../lib/errors.ts";
import { TransientError } from "../../lib/backend/retry.ts";
import { changedObjectError, identityChange } from "../../lib/backend/sftp/file_identity.ts";
import { resumableStream } from "../../lib/backend/resumable_stream.ts";
import { assert, assertEquals, assertRejects } from "../backend/assert.ts";
import { bytesOf, streamOf } from "../backend/chunk_streams.ts";

const WHERE = "sftp://h/r/a.tar.gz";

Deno.test("sftp resume: identityChange names what differs, nothing when nothing does", () => {
  assertEquals(identityChange({ size: 5, mtime: 100 }, { size: 5, mtime: 100 }), undefined);
  assertEquals(identityChange({ size: 5, mtime: 100 }, { size: 6, mtime: 100 }), "size 5 -> 6 bytes");
  assertEquals(
    identityChange({ size: 5, mtime: 0 }, { size: 4, mtime: 1_000_000_000 }),
    "size 5 -> 4 bytes, mtime 1970-01-01T00:00:00Z -> 2001-09-09T01:46:40Z",
  );
});

Deno.test("sftp resume: a transient failure reopens at the bytes delivered, each byte once", async () => {
  const logs: string[] = [];
  const offsets: number[] = [];
  const lost = () => new TransientError(`${WHERE}: SSH connection lost (connection closed)`);
  const stream = resumableStream({
    first: streamOf([[1, 2], [3]], lost()),
    reopen: (offset) => {
      offsets.push(offset);
      return Promise.resolve(offset === 3 ? streamOf([[4]], lost()) : streamOf([[5, 6]]));
    },
    where: WHERE,
    retry: { baseDelayMs: 1, log: (l) => logs.push(l) },
  });
  assertEquals(await bytesOf(stream), [1, 2, 3, 4, 5, 6]);
  assertEquals(offsets, [3, 4]);
  assertEquals(logs.map((l) => l.replace(/in \d+ ms/, "in N ms")), [
    `vigocli: retry 1/6 in N ms: get ${WHERE}: connection lost after 3 bytes`,
    `vigocli: retry 2/6 in N ms: get ${WHERE}: connection lost after 4 bytes`,
  ]);
});

Deno.test("sftp resume: retries are counted over the download and given up, saying how many", async () => {
  const logs: string[] = [];
  const lost = new TransientError(`${WHERE}: cannot connect to h:22 (connection refused)`);
  const stream = resumableStream({
    first: streamOf([[1]], lost),
    reopen: () => Promise.reject(lost),
    where: WHERE,
    retry: { maxRetries: 2, baseDelayMs: 1, log: (l) => logs.push(l) },
  });
  const err = await assertRejects(() => bytesOf(stream), BackendError);
  assertEquals(
    err.message,
    `${WHERE}: download failed after 1 bytes: cannot connect to h:22 (connection refused) (gave up after 2 retries)`,
  );
  assertEquals(logs.length, 2);
});

Deno.test("sftp resume: a changed file or another final failure ends the download at once", async () => {
  const logs: string[] = [];
  const changed = changedObjectError(WHERE, 2, "size 9 -> 8 bytes");
  const stream = resumableStream({
    first: streamOf([[1, 2]], new TransientError("lost")),
    reopen: () => Promise.reject(changed),
    where: WHERE,
    retry: { baseDelayMs: 1, log: (l) => logs.push(l) },
  });
  const err = await assertRejects(() => bytesOf(stream), BackendError);
  assert(err === changed, err.message);
  assertEquals(
    err.message,
    `${WHERE}: changed on the server after 2 bytes were read (size 9 -> 8 bytes); download it again`,
  );
  assertEquals(logs.length, 1);
  const denied = new BackendError(`${WHERE}: permission denied`);
  const final = resumableStream({
    first: streamOf([[1]], denied),
    reopen: () => Promise.reject(new Error("reopened")),
    where: WHERE,
    retry: {},
  });
  assert((await assertRejects(() => bytesOf(final), BackendError)) === denied);
});
