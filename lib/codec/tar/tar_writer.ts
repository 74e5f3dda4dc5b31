/**
 * Streaming tar encoder: writes each entry as header, data and padding, and the end-of-archive marker,
 * into any sink that accepts bytes. The data of an entry is pulled chunk by chunk, so a file of any
 * size passes through with the memory of one chunk.
 */
import { CodecError } from "../codec_error.ts";
import { BLOCK, encodeHeader, padding, type TarHeader } from "./tar_format.ts";

/** Where the encoded bytes go (a gzip writer, a stream writer). */
export interface TarSink {
  write(chunk: Uint8Array): Promise<void>;
}

/** Writes a tar stream entry by entry; see {@link TarWriter.end}. */
export class TarWriter {
  #sink: TarSink;

  constructor(sink: TarSink) {
    this.#sink = sink;
  }

  /**
   * Writes one entry: its header, then `data` (which must add up to `header.size` bytes; nothing for a
   * directory or symlink), then the padding to the next block. A source that fails or comes up short
   * throws from its iterator, which is how the caller reports it.
   */
  async entry(header: TarHeader, data: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = []): Promise<void> {
    await this.#sink.write(encodeHeader(header));
    let size = 0;
    for await (const chunk of data) {
      size += chunk.length;
      await this.#sink.write(chunk);
    }
    if (size !== header.size) {
      throw new CodecError(`tar entry ${header.path}: ${size} data bytes, its header says ${header.size}`);
    }
    const pad = padding(size);
    if (pad > 0) await this.#sink.write(new Uint8Array(pad));
  }

  /** Writes the end-of-archive marker (two zero blocks). Nothing may follow. */
  async end(): Promise<void> {
    await this.#sink.write(new Uint8Array(2 * BLOCK));
  }
}
