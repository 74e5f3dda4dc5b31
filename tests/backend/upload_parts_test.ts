/**
 * The parts of a multipart upload of unknown length (lib/backend/s3_api/upload.ts): 8 MiB for the first
 * 1,000, doubled every 1,000 after, so S3's 10,000 parts hold 8.5 TB, not the 78 GiB that fixed 8 MiB
 * parts did (a larger archive failed at its 10,001st part); the chunker cuts a stream at those sizes.
 */
import { DEFAULT_PART_SIZE, fixedChunks, partSizeAt } from "../../lib/backend/s3_api/upload.ts";
import { assert, assertEquals } from "./assert.ts";

const MiB = 1024 * 1024;

Deno.test("upload parts: 1,000 of each size, doubling; 10,000 parts hold terabytes", () => {
  assertEquals(
    [0, 999, 1000, 1999, 2000, 9999].map((i) => partSizeAt(DEFAULT_PART_SIZE, i) / MiB),
    [8, 8, 16, 16, 32, 4096],
  );
  let total = 0;
  for (let i = 0; i < 10_000; i++) total += partSizeAt(DEFAULT_PART_SIZE, i);
  assert(total > 8.5e12, `${total} bytes in 10,000 parts`);
  // What fixed parts held: the old limit, which a 100 GB archive passed.
  assert(10_000 * DEFAULT_PART_SIZE < 100e9);
});

Deno.test("upload parts: the stream is cut at each part's size, in order, the last one short", async () => {
  const bytes = Uint8Array.from({ length: 23 }, (_, i) => i);
  // Pieces that straddle the cuts, as a network or file stream hands them over.
  const stream = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (let i = 0; i < bytes.length; i += 5) ctl.enqueue(bytes.slice(i, i + 5));
      ctl.close();
    },
  });
  const parts: number[][] = [];
  for await (const part of fixedChunks(stream, (i) => [2, 2, 4, 4, 8][i] ?? 8)) parts.push([...part]);
  assertEquals(parts.map((p) => p.length), [2, 2, 4, 4, 8, 3]);
  assertEquals(parts.flat(), [...bytes]);
});
