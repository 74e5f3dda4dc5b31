/**
 * Hostile WAL bytes: the replicator reads the database's `-wal` file (lib/sqlite/wal_format.ts),
 * which a crash or a broken disk can leave in any state, and replica restore checks downloaded WAL
 * segments (lib/litestream/wal_verifier.ts). Properties: a valid WAL of any shape is accepted and both
 * readers agree on its commits; any mutation of it ends in a WalFormatError (the restore maps it to
 * exit 4) or a shorter valid prefix, never another error; time is linear in the WAL's size. The
 * restore's WAL applied in place (lib/litestream/wal_apply.ts) leaves the file SQLite's checkpoints
 * would: each page's last committed frame, cut to the last commit's page count.
 */
import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import fc from "fast-check";
import { WalApply } from "../../lib/litestream/wal_apply.ts";
import { WalFormatError, WalVerifier } from "../../lib/litestream/wal_verifier.ts";
import {
  frameSize,
  parseWalHeader,
  scanFrames,
  WAL_FORMAT_VERSION,
  WAL_HEADER_SIZE,
  WAL_MAGIC_BE,
  WAL_MAGIC_LE,
  walChecksum,
} from "../../lib/sqlite/wal_format.ts";
import { assertLinear, assertTyped, checkVectors, fuzzParams } from "../helpers/fuzz.ts";

const walError = (err: unknown) => err instanceof WalFormatError ? "bad_input" : undefined;

function put32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0);
}

interface WalSpec {
  bigEndian: boolean;
  pageSize: number;
  salt1: number;
  salt2: number;
  frames: { page: number; commit: number; fill: number }[];
}

/** A WAL with correct header and chained frame checksums, as SQLite writes it. */
function buildWal(s: WalSpec): Uint8Array {
  const fs = frameSize(s.pageSize);
  const b = new Uint8Array(WAL_HEADER_SIZE + fs * s.frames.length);
  put32(b, 0, s.bigEndian ? WAL_MAGIC_BE : WAL_MAGIC_LE);
  put32(b, 4, WAL_FORMAT_VERSION);
  put32(b, 8, s.pageSize);
  put32(b, 16, s.salt1);
  put32(b, 20, s.salt2);
  let sum = walChecksum(s.bigEndian, 0, 0, b, 0, 24);
  put32(b, 24, sum[0]);
  put32(b, 28, sum[1]);
  s.frames.forEach((f, i) => {
    const at = WAL_HEADER_SIZE + i * fs;
    put32(b, at, f.page);
    put32(b, at + 4, f.commit);
    put32(b, at + 8, s.salt1);
    put32(b, at + 12, s.salt2);
    b.fill(f.fill, at + 24, at + fs);
    sum = walChecksum(s.bigEndian, sum[0], sum[1], b, at, at + 8);
    sum = walChecksum(s.bigEndian, sum[0], sum[1], b, at + 24, at + fs);
    put32(b, at + 16, sum[0]);
    put32(b, at + 20, sum[1]);
  });
  return b;
}

const specArb: fc.Arbitrary<WalSpec> = fc.record({
  bigEndian: fc.boolean(),
  pageSize: fc.constantFrom(512, 1024, 4096),
  salt1: fc.nat(),
  salt2: fc.nat(),
  frames: fc.array(
    fc.record({
      page: fc.integer({ min: 1, max: 50 }),
      commit: fc.oneof(fc.constant(0), fc.nat({ max: 60 })),
      fill: fc.nat(255),
    }),
    { maxLength: 6 },
  ),
});

/** Both readers over `wal`, fed to the verifier in `chunk`-byte pieces. */
function readBoth(wal: Uint8Array, chunk: number) {
  const hdr = parseWalHeader(wal);
  const scan = hdr
    ? scanFrames(hdr, [hdr.checksum1, hdr.checksum2], wal.subarray(WAL_HEADER_SIZE))
    : undefined;
  const v = new WalVerifier();
  for (let i = 0; i < wal.length; i += chunk) v.update(wal.subarray(i, i + chunk));
  return { hdr, scan, summary: v.finish() };
}

Deno.test("wal: valid WALs of any shape are accepted and both readers agree", () => {
  fc.assert(
    fc.property(specArb, fc.integer({ min: 1, max: 3000 }), (spec, chunk) => {
      const { scan, summary } = readBoth(buildWal(spec), chunk);
      const lastCommit = spec.frames.findLastIndex((f) => f.commit !== 0) + 1;
      assert.equal(summary.frames, spec.frames.length);
      assert.equal(summary.committedFrames, lastCommit);
      assert.equal(scan!.committedBytes, lastCommit * frameSize(spec.pageSize));
      assert.equal(scan!.stoppedAtInvalid, false);
    }),
    fuzzParams(300),
  );
});

Deno.test("wal: applied indexes leave each page's last committed frame, cut to the last commit's size", () => {
  const indexesArb = fc.record({
    pageSize: fc.constantFrom(512, 1024),
    snapshotPages: fc.integer({ min: 1, max: 60 }),
    // Pages held before they are written: 1–4 makes the cache fill and write mid-WAL.
    cachePages: fc.integer({ min: 1, max: 4 }),
    specs: fc.array(specArb, { minLength: 1, maxLength: 4 }),
  });
  const path = Deno.makeTempFileSync({ prefix: "vigo-wal-apply-" });
  try {
    fc.assert(
      fc.property(
        indexesArb,
        fc.integer({ min: 1, max: 3000 }),
        ({ pageSize, snapshotPages, cachePages, specs }, chunk) => {
          // One database: every index has its page size; each restarted WAL may pick its own byte order.
          const indexes = specs.map((s) => ({ ...s, pageSize }));
          const committed = indexes.map((s) => s.frames.findLastIndex((f) => f.commit !== 0) + 1);
          // What SQLite's checkpoints leave: the snapshot's pages (0xee), each committed frame's page over
          // them in order, the file cut to the last commit's page count; a page past the snapshot that no
          // frame wrote reads as zeros (a hole in the file).
          const model = new Uint8Array(64 * pageSize).fill(0xee, 0, snapshotPages * pageSize);
          let size = snapshotPages;
          indexes.forEach((s, i) =>
            s.frames.slice(0, committed[i]).forEach((f) => {
              model.fill(f.fill, (f.page - 1) * pageSize, f.page * pageSize);
              if (f.commit !== 0) size = f.commit;
            })
          );
          const apply = (limits?: number[]) => {
            const fd = openSync(path, "w+");
            try {
              writeSync(fd, new Uint8Array(snapshotPages * pageSize).fill(0xee));
              const a = new WalApply(fd, path, pageSize, limits, cachePages * pageSize);
              for (const spec of indexes) {
                const wal = buildWal(spec);
                const v = new WalVerifier(a);
                for (let i = 0; i < wal.length; i += chunk) v.update(wal.subarray(i, i + chunk));
                v.finish();
                a.endIndex();
              }
              a.finish();
              return a;
            } finally {
              closeSync(fd);
            }
          };
          const first = apply();
          assert.deepEqual(first.committedByIndex, committed);
          assert.equal(first.exact, indexes.every((s, i) => s.frames.length === committed[i]));
          const exact = apply(committed);
          assert.equal(exact.exact, true);
          const got = readFileSync(path);
          assert.equal(got.length, size * pageSize);
          assert.ok(got.equals(model.subarray(0, size * pageSize)));
        },
      ),
      fuzzParams(200),
    );
  } finally {
    rmSync(path, { force: true });
  }
});

Deno.test("wal: mutated WALs end in a WalFormatError or a valid prefix, never another error", async () => {
  const mutation = fc.record({
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    kind: fc.constantFrom("overwrite", "truncate", "insert"),
  });
  await fc.assert(
    fc.asyncProperty(specArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), async (spec, ms) => {
      let b = buildWal(spec);
      for (const m of ms) {
        const at = m.at % (b.length + 1);
        if (m.kind === "truncate") b = b.subarray(0, at);
        else if (m.kind === "insert") {
          b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
        } else {
          b = b.slice();
          b.set(m.bytes.subarray(0, Math.max(0, b.length - at)), at);
        }
      }
      // The replicator's reader never throws: it finds the valid prefix.
      const hdr = parseWalHeader(b);
      if (hdr) {
        const body = b.subarray(WAL_HEADER_SIZE);
        const scan = scanFrames(hdr, [hdr.checksum1, hdr.checksum2], body);
        const fs = frameSize(hdr.pageSize);
        assert.ok(scan.committedBytes <= scan.validBytes && scan.validBytes <= body.length);
        assert.equal(scan.validBytes % fs, 0);
      }
      await assertTyped(() => readBoth(b, 700), walError);
    }),
    fuzzParams(400),
  );
});

Deno.test("wal: random headers never throw from parseWalHeader", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      parseWalHeader(b);
    }),
    fuzzParams(300),
  );
});

Deno.test("wal: time is linear in the number of frames", async () => {
  const wal = (n: number) =>
    buildWal({
      bigEndian: false,
      pageSize: 512,
      salt1: 1,
      salt2: 2,
      frames: Array.from({ length: n }, (_, i) => ({ page: 1 + (i % 9), commit: i % 3, fill: i & 255 })),
    });
  await assertLinear("wal frames", wal, (b) => readBoth(b as Uint8Array, 65536), 200, 20_000);
});

Deno.test("wal: regression vectors", async () => {
  await checkVectors("wal", (v) => readBoth(v.bytes, 700), walError);
});
