/** In-memory streams for the tests of resumed downloads (resumable_stream_test, resumable_read_test). */

/**
 * A stream of `chunks`, one per pull (no queue of its own, as the backends' sources), failing with
 * `err` after them when given; `cancelled` learns of a cancel.
 */
export function streamOf(
  chunks: number[][],
  err?: Error,
  cancelled?: () => void,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(ctl) {
      if (i < chunks.length) ctl.enqueue(new Uint8Array(chunks[i++]));
      else if (err) ctl.error(err);
      else ctl.close();
    },
    cancel: cancelled,
  }, { highWaterMark: 0 });
}

/** Every byte of `stream`, as numbers. */
export async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  return [...new Uint8Array(await new Response(stream).arrayBuffer())];
}
