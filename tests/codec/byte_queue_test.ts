import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import { ByteQueue } from "../../lib/codec/byte_queue.ts";

const bytes = (...v: number[]) => new Uint8Array(v);

Deno.test("ByteQueue: take returns views within a piece and copies across pieces", () => {
  const q = new ByteQueue();
  const a = bytes(1, 2, 3);
  q.push(a);
  q.push(new Uint8Array(0));
  q.push(bytes(4, 5));
  assertEquals(q.length, 5);
  const first = q.take(2);
  assertEquals(first, bytes(1, 2));
  assert(first.buffer === a.buffer, "a view, not a copy");
  assertEquals(q.takeView(2), null, "spans two pieces: nothing taken");
  assertEquals(q.peek(0), 3);
  assertEquals(q.peek(2), 5);
  assertEquals(q.take(2), bytes(3, 4));
  assertEquals(q.length, 1);
  assertThrows(() => q.take(2), RangeError);
  assertThrows(() => q.peek(1), RangeError);
});

Deno.test("ByteQueue: takeInto, takeSome, skip", () => {
  const q = new ByteQueue();
  q.push(bytes(1, 2));
  q.push(bytes(3, 4, 5));
  const dst = new Uint8Array(5);
  q.takeInto(3, dst, 1);
  assertEquals(dst, bytes(0, 1, 2, 3, 0));
  assertEquals(q.takeSome(10), bytes(4, 5), "up to the end of the first piece");
  assertEquals(q.takeSome(10), bytes(), "empty queue");
  q.push(bytes(6, 7, 8));
  assertEquals(q.skip(10), 3);
  assertEquals(q.length, 0);
});

Deno.test("ByteQueue: detach lets the caller reuse its buffers", () => {
  const q = new ByteQueue();
  const buf = bytes(1, 2, 3, 4);
  q.push(buf);
  q.skip(1);
  q.detach();
  buf.fill(0);
  q.push(bytes(5));
  q.detach();
  assertEquals(q.take(4), bytes(2, 3, 4, 5));
  q.detach();
  assertEquals(q.length, 0);
});
