/**
 * Hostile replica listings (lib/litestream/paths.ts): object keys come from a bucket or directory
 * anyone with write access can fill. Properties: classifying a key never throws; a key that is
 * accepted is exactly the canonical key rebuilt from what was parsed (so nothing like `..`, a second
 * slash, upper-case hex or a sign slips through into a local path); numbers stay in 32 bits.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parseReplicaKey,
  parseSnapshotName,
  parseWalSegmentName,
  snapshotKey,
  walSegmentKey,
} from "../../lib/litestream/paths.ts";
import { assertLinear, assertTyped, checkVectors, fuzzParams } from "../helpers/fuzz.ts";

const part = fc.oneof(
  fc.constantFrom("generations", "snapshots", "wal", "..", ".", "", "0123456789abcdef", "0123456789ABCDEF"),
  fc.constantFrom(
    "00000001.snapshot.lz4",
    "00000001_00000020.wal.lz4",
    "fffffffff.snapshot.lz4",
    "-0000001.snapshot.lz4",
  ),
  fc.stringMatching(/^[0-9a-fA-F_.\/-]{0,30}(\.snapshot\.lz4|\.wal\.lz4)?$/),
  fc.string({ maxLength: 10 }),
);
const keyArb = fc.array(part, { minLength: 1, maxLength: 6 }).map((p) => p.join("/"));

function classify(key: string): void {
  const parsed = parseReplicaKey(key);
  parseSnapshotName(key);
  parseWalSegmentName(key);
  if (!parsed) return;
  const canonical = parsed.kind === "snapshot"
    ? snapshotKey(parsed.generation, parsed.index)
    : walSegmentKey(parsed.generation, parsed.index, parsed.offset);
  assert.equal(canonical, key, "an accepted key must be canonical");
  assert.ok(parsed.index >= 0 && parsed.index <= 0xffffffff);
}

Deno.test("replica paths: any key is classified without throwing; accepted keys are canonical", async () => {
  await fc.assert(
    fc.asyncProperty(keyArb, async (key) => {
      assert.equal(await assertTyped(() => classify(key)), "ok");
    }),
    fuzzParams(500),
  );
});

Deno.test("replica paths: canonical keys round-trip", () => {
  const gen = fc.stringMatching(/^[0-9a-f]{16}$/);
  const u32 = fc.nat({ max: 0xffffffff });
  fc.assert(
    fc.property(gen, u32, u32, (g, index, offset) => {
      assert.deepEqual(parseReplicaKey(walSegmentKey(g, index, offset)), {
        kind: "wal",
        generation: g,
        index,
        offset,
      });
      assert.deepEqual(parseReplicaKey(snapshotKey(g, index)), { kind: "snapshot", generation: g, index });
    }),
    fuzzParams(300),
  );
});

Deno.test("replica paths: time is linear in the key length", async () => {
  await assertLinear(
    "replica key",
    (n) => `generations/${"a/".repeat(n)}x.wal.lz4`,
    (k) => classify(k as string),
    1000,
  );
  await assertLinear(
    "replica key name",
    (n) => `${"0".repeat(n)}_00000000.wal.lz4`,
    (k) => classify(k as string),
    1000,
  );
});

Deno.test("replica paths: regression vectors", async () => {
  await checkVectors("replica_paths", (v) => {
    if (!parseReplicaKey(v.input_text ?? "")) throw new Error("not a replica key");
  }, () => "not_a_key");
});
