/**
 * Reading a replica's LZ4 objects for a restore: a file replica's objects straight from disk into two
 * reused buffers, and frames decoded block by block into a sink or a file, each block written or
 * checked before the next one overwrites the decoder's memory.
 */
import { openSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { toVigoError } from "../errors.ts";
import { asBackend } from "../backend/backend.ts";
import { FileBackend } from "../backend/file/file_backend.ts";
import { CodecError } from "../codec/codec_error.ts";
import { type Lz4BlockSink, lz4FrameDecoder } from "../codec/lz4/lz4_frame_reader.ts";
import type { ReplicaClient } from "./replica_client.ts";
import type { ProgressPhase } from "../progress.ts";

/** Bytes read per call from a local replica: large reads, few I/O round trips. */
const LOCAL_READ = 1 << 20;

/**
 * The object `key` of a file replica as chunks read into two reused buffers, or null for other
 * backends. Each chunk is overwritten once the consumer asks for the one after next, so this is for
 * {@link decodeToSink} only (its decoder copies what it keeps). The next read is in flight while a
 * chunk is decoded. The file backend's own reader allocates a fresh buffer per read, which Bun
 * collects late: with it the restore's peak RSS grew with the snapshot size.
 */
export function localObject(client: ReplicaClient, key: string): AsyncIterable<Uint8Array> | null {
  const replica = asBackend(client.backend, FileBackend);
  if (!replica) return null;
  const path = join(replica.root, ...key.split("/"));
  return (async function* () {
    const file = await open(path, "r").catch((err) => {
      throw toVigoError(err, path);
    });
    const bufs = [new Uint8Array(LOCAL_READ), new Uint8Array(LOCAL_READ)];
    let pos = 0;
    const read = (i: number) =>
      file.read(bufs[i], 0, LOCAL_READ, pos).then(({ bytesRead }) => {
        pos += bytesRead;
        return bufs[i].subarray(0, bytesRead);
      });
    let pending = read(0);
    try {
      for (let i = 0;; i ^= 1) {
        const chunk = await pending.catch((err) => {
          throw toVigoError(err, path);
        });
        if (chunk.length === 0) return;
        // The other buffer's chunk, yielded last time, is done with now that we were resumed.
        pending = read(i ^ 1);
        yield chunk;
      }
    } finally {
      await pending.catch(() => {});
      await file.close();
    }
  })();
}

/**
 * Opens `path` for synchronous writes ({@link decodeToFile}, or pages written in place with "r+"). A
 * database it creates gets what SQLite gives a new database, 0644 before the umask (Litestream: 0666):
 * the replica records no mode, and a server running as another user must be able to read it.
 */
export function openForWrite(path: string, flags: "wx" | "w" | "r+"): number {
  try {
    return openSync(path, flags, 0o644);
  } catch (err) {
    throw toVigoError(err, path);
  }
}

/**
 * Decodes the LZ4 frames of `stream` block by block into `sink`. Each block is a view of the
 * decoder's reused memory, valid only until `sink` returns.
 */
export async function decodeToSink(
  stream: AsyncIterable<Uint8Array>,
  name: string,
  progress: ProgressPhase,
  sink: Lz4BlockSink,
): Promise<void> {
  const dec = lz4FrameDecoder(name);
  const transient = !(stream instanceof ReadableStream);
  try {
    for await (const chunk of stream) {
      progress.advance(chunk.length);
      dec.push(chunk, sink, transient);
    }
    dec.end();
  } catch (err) {
    if (err instanceof CodecError) throw toVigoError(err);
    throw err;
  }
}

/**
 * Decodes the LZ4 frames of `stream` into the open file `fd`, returning the bytes written. Each block
 * is checked (`onBlock`) and written synchronously — to the page cache, no I/O-pool round trip —
 * before the next block overwrites it.
 */
export async function decodeToFile(
  stream: AsyncIterable<Uint8Array>,
  name: string,
  fd: number,
  path: string,
  progress: ProgressPhase,
  onBlock?: Lz4BlockSink,
): Promise<number> {
  let n = 0;
  await decodeToSink(stream, name, progress, (block) => {
    onBlock?.(block);
    try {
      for (let off = 0; off < block.length;) off += writeSync(fd, block, off, block.length - off);
    } catch (err) {
      throw toVigoError(err, path);
    }
    n += block.length;
  });
  return n;
}
