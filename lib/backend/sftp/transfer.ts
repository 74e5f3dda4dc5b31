/**
 * Pipelined SFTP transfers. One READ or WRITE request at a time costs a round trip per request, so
 * throughput is bounded by latency; here many requests are outstanding at once (a window of bytes in
 * flight), which is what `sftp`/rclone do too. Memory stays bounded by that window, not the object.
 */
import type { Buffer } from "node:buffer";
import { asBuffer, type RawSftp } from "./ssh2_api.ts";
import { GarbageBound } from "../../runtime.ts";

/**
 * Bytes of WRITE requests awaiting their status at once: OpenSSH's session channel window (2 MiB).
 * More in flight only queues inside ssh2 until the server widens the window (memory, no speed):
 * 1, 2, 4 and 16 MiB measured the same within the ±30 % noise of this shared machine.
 */
export const WRITE_WINDOW = 2 * 1024 * 1024;
/**
 * READ requests outstanding at once: 8 (2 MiB, OpenSSH's window), not 16, as each reply is a new
 * buffer until the bound below collects it. With the download's 8 MiB headroom, a 256 MiB download
 * peaked at 86–90 MiB against 99–103 MiB, ~7 % slower on loopback (still ~1.3× rclone).
 */
const READ_DEPTH = 8;
/** Largest request, whatever the server's limits@openssh.com allows. */
const MAX_REQUEST = 256 * 1024;

/**
 * Writes `body` to the open `handle` from offset 0 with several WRITE requests in flight. Resolves
 * after every request was acknowledged; rejects on the first failure (after the rest settled).
 */
export async function pipelinedWrite(
  sftp: RawSftp,
  handle: Buffer,
  body: ReadableStream<Uint8Array> | Uint8Array,
): Promise<number> {
  const maxLen = Math.min(MAX_REQUEST, sftp._maxWriteLen || 32 * 1024);
  // A quarter of the default headroom: after a collection the upload sits at 65-75 MiB, next to 1.2x
  // rclone's whole peak (77 MiB), so the headroom decides the ratio. 256 MiB: 16 against 8 MiB, 8
  // alternating rounds, peak 89.3 against 80.9 MiB (medians), wall 2.00 against 2.08 s; 8 against 4 MiB
  // (`./dev bench --only sftp`, 3-5 runs each, load 0.5-2.2), the library's peak 76.6-78.1 against
  // 71.8-73.6 MiB, the command's 78.5-78.7 against 73.2-73.5 MiB, 1.19-1.24x rclone against 1.12-1.16x;
  // the command's throughput 162-165 against 151-171 MiB/s (rclone's own moved 141-164 between runs).
  const garbage = new GarbageBound(4 * 1024 * 1024);
  let offset = 0;
  let inFlight = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const settled = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const send = async (chunk: Uint8Array) => {
    for (let off = 0; off < chunk.length; off += maxLen) {
      while (inFlight >= WRITE_WINDOW && failure === undefined) await new Promise<void>((r) => (wake = r));
      if (failure !== undefined) throw failure;
      const piece = asBuffer(chunk.subarray(off, Math.min(off + maxLen, chunk.length)));
      inFlight += piece.length;
      sftp.write(handle, piece, 0, piece.length, offset, (err) => {
        inFlight -= piece.length;
        if (err && failure === undefined) failure = err;
        settled();
      });
      offset += piece.length;
      garbage.moved(piece.length);
    }
  };
  try {
    if (body instanceof Uint8Array) await send(body);
    else {
      for await (const chunk of body) await send(chunk);
    }
  } catch (err) {
    failure ??= err;
  }
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  if (failure !== undefined) throw failure;
  return offset;
}

interface PendingRead {
  pos: number;
  len: number;
  result: Promise<Buffer>;
}

function readAt(sftp: RawSftp, handle: Buffer, pos: number, len: number): PendingRead {
  const result = new Promise<Buffer>((resolve, reject) => {
    sftp.readData(handle, len, pos, (err, data) => {
      if (err) reject(err);
      else resolve(data);
    });
  });
  result.catch(() => {});
  return { pos, len, result };
}

/** Hooks of {@link pipelinedRead}. */
export interface ReadHooks {
  /** Runs once (close the handle) when the stream ends, fails or is cancelled. */
  onEnd: () => Promise<void>;
  /** Turns a failure into the error the reader sees. */
  mapError: (err: unknown) => Error;
}

/**
 * A stream of the bytes `from` to `size` of the open `handle`, read with several READ requests in
 * flight (`from` > 0: the rest of a download resumed on a new session).
 */
export function pipelinedRead(
  sftp: RawSftp,
  handle: Buffer,
  from: number,
  size: number,
  hooks: ReadHooks,
): ReadableStream<Uint8Array> {
  const chunk = Math.min(MAX_REQUEST, sftp._maxReadLen || 32 * 1024);
  const queue: PendingRead[] = [];
  const garbage = new GarbageBound(8 * 1024 * 1024);
  let next = from;
  let ended = false;
  const finish = async () => {
    if (ended) return;
    ended = true;
    await Promise.allSettled(queue.map((q) => q.result));
    await hooks.onEnd().catch(() => {});
  };
  // Start shallow and double: a reader that stops after the first chunk (a header peek) costs 2
  // reads, not 8.
  let depth = 1;
  const topUp = () => {
    depth = Math.min(READ_DEPTH, depth * 2);
    while (queue.length < depth && next < size) {
      const len = Math.min(chunk, size - next);
      queue.push(readAt(sftp, handle, next, len));
      next += len;
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        topUp();
        const head = queue.shift();
        if (!head) {
          await finish();
          ctl.close();
          return;
        }
        const data = await head.result;
        if (data.length === 0) throw new Error(`ended after ${head.pos} of ${size} bytes`);
        // A short read is legal SFTP: ask for the rest of that range before anything later.
        if (data.length < head.len) {
          queue.unshift(readAt(sftp, handle, head.pos + data.length, head.len - data.length));
        }
        garbage.moved(data.length);
        ctl.enqueue(data);
      } catch (err) {
        await finish();
        ctl.error(hooks.mapError(err));
      }
    },
    async cancel() {
      await finish();
    },
  }, { highWaterMark: 0 });
}
