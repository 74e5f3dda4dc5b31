/** Replica key names: exactly Litestream v0.3.13's formats, both ways. */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  formatPos,
  formatSnapshotName,
  formatWalSegmentName,
  isGenerationName,
  newGenerationName,
  parseReplicaKey,
  parseSnapshotName,
  parseWalSegmentName,
  snapshotKey,
  walSegmentKey,
} from "../../lib/litestream/paths.ts";

Deno.test("snapshot and WAL segment names", () => {
  assertEquals(formatSnapshotName(0), "00000000.snapshot.lz4");
  assertEquals(formatSnapshotName(0x1c73), "00001c73.snapshot.lz4");
  assertEquals(formatWalSegmentName(1, 4152), "00000001_00001038.wal.lz4");
  assertEquals(formatWalSegmentName(0xffffffff, 0xffffffff), "ffffffff_ffffffff.wal.lz4");
  throws(() => formatWalSegmentName(0, 0x100000000), RangeError);
  throws(() => formatSnapshotName(-1), RangeError);
  throws(() => formatSnapshotName(1.5), RangeError);
  assertEquals(
    snapshotKey("0123456789abcdef", 2),
    "generations/0123456789abcdef/snapshots/00000002.snapshot.lz4",
  );
  assertEquals(
    walSegmentKey("0123456789abcdef", 2, 32),
    "generations/0123456789abcdef/wal/00000002_00000020.wal.lz4",
  );
  throws(() => snapshotKey("0123456789ABCDEF", 0), RangeError);
});

Deno.test("parsers accept exactly Litestream's names", () => {
  assertEquals(parseSnapshotName("generations/x/snapshots/0000000a.snapshot.lz4"), 10);
  assertEquals(parseWalSegmentName("0000000a_00001038.wal.lz4"), { index: 10, offset: 4152 });
  for (
    const bad of [
      "0000000A.snapshot.lz4",
      "000000a.snapshot.lz4",
      "00000000.snapshot.lz4.tmp",
      "00000000.snapshot",
    ]
  ) {
    assertEquals(parseSnapshotName(bad), null, bad);
  }
  for (
    const bad of [
      "00000000.wal.lz4",
      "00000000_0000000.wal.lz4",
      "00000000_00000000.wal.lz4.tmp",
      "00000000.wal",
    ]
  ) {
    assertEquals(parseWalSegmentName(bad), null, bad);
  }
  assertEquals(parseReplicaKey("generations/0123456789abcdef/wal/00000003_00000000.wal.lz4"), {
    kind: "wal",
    generation: "0123456789abcdef",
    index: 3,
    offset: 0,
  });
  assertEquals(parseReplicaKey("generations/0123456789abcdef/snapshots/00000003.snapshot.lz4"), {
    kind: "snapshot",
    generation: "0123456789abcdef",
    index: 3,
  });
  assertEquals(parseReplicaKey("generations/0123456789abcde/snapshots/00000003.snapshot.lz4"), null);
  assertEquals(parseReplicaKey("generations/0123456789abcdef/wal/00000003.snapshot.lz4"), null);
  assertEquals(parseReplicaKey("other/0123456789abcdef/wal/00000003_00000000.wal.lz4"), null);
});

Deno.test("generation names are 16 random lowercase hex digits", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const g = newGenerationName();
    assert(isGenerationName(g), g);
    seen.add(g);
  }
  assertEquals(seen.size, 200);
  assert(!isGenerationName("0123456789ABCDEF"));
  assert(!isGenerationName("0123456789abcde"));
  assertEquals(
    formatPos({ generation: "0123456789abcdef", index: 26, offset: 4152 }),
    "0123456789abcdef/0000001a:4152",
  );
});
