/**
 * SFTP WRITE requests sent from the caller's buffer. ssh2's `write` copies the data into a new
 * request buffer before splitting it into channel packets, which copy it again: a 256 MiB upload
 * left 256 MiB of request buffers for the collector. Here the request's header goes out with the
 * first piece of data in one reused buffer and the rest as views of the caller's bytes; each packet
 * still copies what it carries. 256 MiB upload under Bun: minor faults 149k -> 115k, CPU 1.79 ->
 * 1.33 s (medians, 5 alternating rounds); ~99 % of the requests take this path. The bytes sent are
 * the same as ssh2's.
 */
import { Buffer } from "node:buffer";
import type { RawSftp } from "./ssh2_api.ts";

/** ssh2's SFTP channel (lib/protocol/SFTP.js), the internals a WRITE request touches. */
interface SftpChannelInternals {
  outgoing: { id: number; window: number; packetSize: number; state: string };
  _protocol: { channelData(id: number, data: Buffer): void };
  _requests: Record<number, { cb: (err?: Error) => void }>;
  _writeReqid: number;
  _waitWindow: boolean;
  _buffer: unknown[];
  _maxWriteLen: number;
}

const SSH_FXP_WRITE = 6;
const MAX_REQID = 2 ** 32 - 1;

type WriteFn = RawSftp["write"];

/**
 * `raw.write` without the request copy, where the channel's window takes the whole request now;
 * otherwise (and for what ssh2 must queue or split) ssh2's own `write`.
 */
export function uncopiedWrite(raw: RawSftp): WriteFn {
  const ch = raw as unknown as SftpChannelInternals;
  let scratch = Buffer.allocUnsafe(0);
  const fallback: WriteFn = raw.write.bind(raw);
  return (handle, buf, off, len, position, cb) => {
    const o = ch.outgoing;
    const headerLen = 4 + 1 + 4 + 4 + handle.length + 8 + 4;
    if (
      len === 0 || len > ch._maxWriteLen || o.state !== "open" || ch._waitWindow || ch._buffer.length > 0 ||
      o.window < headerLen + len || o.packetSize <= headerLen
    ) {
      return fallback(handle, buf, off, len, position, cb);
    }
    const first = Math.min(len, o.packetSize - headerLen);
    if (scratch.length < headerLen + first) scratch = Buffer.allocUnsafe(o.packetSize);
    // ssh2's own arithmetic: its other requests share the counter and its reply handler the keys.
    const reqid = ch._writeReqid = (ch._writeReqid + 1) & MAX_REQID;
    let p = 0;
    scratch.writeUInt32BE(headerLen - 4 + len, p);
    scratch[p += 4] = SSH_FXP_WRITE;
    scratch.writeUInt32BE(reqid >>> 0, p += 1);
    scratch.writeUInt32BE(handle.length, p += 4);
    scratch.set(handle, p += 4);
    scratch.writeUInt32BE(Math.floor(position / 2 ** 32), p += handle.length);
    scratch.writeUInt32BE(position >>> 0, p += 4);
    scratch.writeUInt32BE(len, p += 4);
    scratch.set(buf.subarray(off, off + first), p += 4);
    ch._requests[reqid] = { cb: (err) => cb(err, undefined) };
    o.window -= headerLen + first;
    ch._protocol.channelData(o.id, scratch.subarray(0, headerLen + first));
    for (let at = off + first; at < off + len;) {
      const n = Math.min(off + len - at, o.packetSize);
      o.window -= n;
      ch._protocol.channelData(o.id, buf.subarray(at, at + n));
      at += n;
    }
  };
}
