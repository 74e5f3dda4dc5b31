/** Which checkpoint the replicator runs (lib/replicate/checkpoint_policy.ts). */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decideCheckpoint, DEFAULT_CHECKPOINT_POLICY } from "../../lib/replicate/checkpoint_policy.ts";

Deno.test("checkpoint policy: passive by size or idleness, truncate when large, never blocking modes", () => {
  const p = DEFAULT_CHECKPOINT_POLICY;
  assertEquals(decideCheckpoint(10, 0, p), "none");
  assertEquals(decideCheckpoint(p.minFrames, 0, p), "passive");
  assertEquals(decideCheckpoint(5, p.idleMs, p), "passive");
  assertEquals(decideCheckpoint(1, p.idleMs, p), "none");
  assertEquals(decideCheckpoint(p.truncateFrames, 0, p), "truncate");
});
