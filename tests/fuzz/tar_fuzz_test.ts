/**
 * Hostile archives: the tar reader (lib/codec/tar/) and manifest.json validation (lib/archive/manifest.ts)
 * see every byte of a downloaded or damaged archive before anything is trusted. Properties: reading
 * ends in entries or a typed error (CodecError, mapped to exit 4, or BadInputError), never a stray
 * RangeError; a manifest that validates never makes restore write outside its target, checked by
 * materialising it on a real filesystem the way restore stages entries; time is linear in the input.
 */
import assert from "node:assert/strict";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { type Manifest, parseManifest } from "../../lib/archive/manifest.ts";
import { CodecError } from "../../lib/codec/codec_error.ts";
import { BLOCK, encodeHeader, type TarHeader } from "../../lib/codec/tar/tar_format.ts";

/** The end-of-archive marker: two zero blocks. */
const endOfArchive = () => new Uint8Array(2 * BLOCK);
import { TarReader } from "../../lib/codec/tar/tar_reader.ts";
import { assertLinear, assertTyped, checkVectors, fuzzParams } from "../helpers/fuzz.ts";
import { concatBytes } from "../../lib/bytes.ts";

const codec = (err: unknown) => err instanceof CodecError ? "bad_input" : undefined;

async function readAll(bytes: Uint8Array, chunk = 700): Promise<number> {
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += chunk) c.enqueue(bytes.subarray(i, i + chunk));
      c.close();
    },
  });
  const tar = new TarReader(stream);
  let n = 0;
  for (let e = await tar.next(); e; e = await tar.next()) {
    for await (const _ of e.body()) n++;
  }
  await tar.drain();
  return n;
}

function archive(entries: { h: TarHeader; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { h, data } of entries) {
    parts.push(encodeHeader(h), data, new Uint8Array((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(endOfArchive());
  return concatBytes(parts);
}

/** Re-seals the checksum of the header block at `at`, so mutations reach the field decoders. */
function reseal(b: Uint8Array, at: number): void {
  if (at + BLOCK > b.length) return;
  b.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[at + i];
  b.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), at + 148);
}

const entryArb = fc.record({
  path: fc.oneof(
    fc.constantFrom("db/vigo.db", "stacks/a", "x".repeat(150), "é/ü"),
    fc.string({ maxLength: 20 }),
  ),
  type: fc.constantFrom<TarHeader["type"]>("file", "dir", "symlink"),
  size: fc.nat({ max: 1500 }),
  linkname: fc.option(fc.string({ maxLength: 120 }), { nil: undefined }),
});
const mutation = fc.record({
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
  kind: fc.constantFrom("overwrite", "truncate", "insert", "header-field"),
});

Deno.test("tar: mutated archives end in entries or a typed error", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(entryArb, { maxLength: 4 }),
      fc.array(mutation, { maxLength: 4 }),
      async (es, ms) => {
        let b = archive(es.map((e) => ({
          h: { ...e, size: e.type === "file" ? e.size : 0, mode: 0o644, mtime: 0, uid: 0, gid: 0 },
          data: new Uint8Array(e.type === "file" ? e.size : 0).fill(7),
        })));
        for (const m of ms) {
          const at = m.at % (b.length + 1);
          if (m.kind === "truncate") b = b.subarray(0, at);
          else if (m.kind === "insert") {
            b = Uint8Array.from([
              ...b.subarray(0, at),
              ...m.bytes,
              ...b.subarray(at),
            ]);
          } else {
            b = b.slice();
            b.set(m.bytes.subarray(0, Math.max(0, b.length - at)), at);
            // Field mutations inside a header: re-seal so they are not all stopped by the checksum.
            if (m.kind === "header-field") reseal(b, at - (at % BLOCK));
          }
        }
        await assertTyped(() => readAll(b), codec);
      },
    ),
    fuzzParams(300),
  );
});

Deno.test("tar: random header blocks with valid checksums end in entries or a typed error", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: BLOCK, maxLength: 3 * BLOCK }), async (raw) => {
      const b = new Uint8Array(raw.length + 2 * BLOCK);
      b.set(raw);
      for (let at = 0; at + BLOCK <= raw.length; at += BLOCK) reseal(b, at);
      await assertTyped(() => readAll(b), codec);
    }),
    fuzzParams(300),
  );
});

Deno.test("tar: time is linear in the archive (many entries, long pax records)", async () => {
  const one = (i: number) => ({
    h: { path: `stacks/${i}`, type: "file" as const, size: 10, mode: 0o644, mtime: 0, uid: 0, gid: 0 },
    data: new Uint8Array(10),
  });
  await assertLinear(
    "tar entries",
    (n) => archive(Array.from({ length: n }, (_, i) => one(i))),
    (b) => readAll(b as Uint8Array, 65536),
    200,
  );
  const longName = (n: number) =>
    archive([{ h: { ...one(0).h, path: `stacks/${"n".repeat(n)}` }, data: new Uint8Array(10) }]);
  // pax records are capped at 1 MiB: the large run stays below that
  await assertLinear("tar pax path", longName, (b) => readAll(b as Uint8Array, 65536), 10_000, 100_000);
});

// --- manifest -------------------------------------------------------------------------------------

const segment = fc.constantFrom(
  "db",
  "stacks",
  "secrets",
  "tls",
  "a",
  "b",
  "..",
  ".",
  "",
  "vigo.db",
  "C:",
  "\\x",
);
const pathArb = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join("/"));
const linkArb = fc.oneof(
  pathArb,
  pathArb.map((p) => `/${p}`),
  fc.array(fc.constantFrom("..", "a", "."), { minLength: 1, maxLength: 5 }).map((s) => s.join("/")),
);
const manifestEntryArb = fc.oneof(
  pathArb.map((path) => ({ path, type: "dir", mode: "755" })),
  pathArb.map((path) => ({ path, type: "file", mode: "644", size: 1, sha256: "a".repeat(64) })),
  fc.tuple(pathArb, linkArb).map(([path, target]) => ({ path, type: "symlink", mode: "777", target })),
);

function manifestOf(entries: unknown[]): Manifest {
  return {
    format: "vigo-backup",
    format_version: 1,
    created_at: "2026-03-13T14:30:00Z",
    source: {
      server_root: "/srv/vigo",
      server_yaml: "/srv/vigo/server.yaml",
      database: "/srv/vigo/db/vigo.db",
    },
    database: { path: "db/vigo.db" },
    entries: [{ path: "db/vigo.db", type: "file", mode: "600", size: 1, sha256: "b".repeat(64) }, ...entries],
  } as unknown as Manifest;
}

/**
 * Stages a validated manifest as restore does (mkdir -p of the parent, symlink, exclusive create)
 * inside `root/target`, then checks nothing appeared beside it and every link resolves inside it.
 */
function materialise(m: Manifest, root: string): void {
  const target = join(root, "target");
  mkdirSync(target);
  for (const e of m.entries) {
    const dest = join(target, e.path);
    try {
      mkdirSync(dirname(dest), { recursive: true });
      if (e.type === "dir") mkdirSync(dest, { recursive: true });
      else if (e.type === "symlink") symlinkSync(e.target!, dest);
      else writeFileSync(dest, "x", { flag: "wx" });
    } catch (err) {
      // An entry that collides with an earlier one (a file where a directory was) fails restore
      // with an OS error; what matters is where the successful ones landed.
      if (!(err as NodeJS.ErrnoException).code) throw err;
    }
  }
  assert.deepEqual(readdirSync(root), ["target"], "restore wrote beside its target");
  const realTarget = realpathSync(target);
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = realpathSync(p);
        } catch {
          // dangling: resolve the link text lexically instead
          real = join(dirname(p), readlinkText(p));
        }
        assert.ok(real === realTarget || real.startsWith(realTarget + "/"), `${p} -> ${real} escapes`);
      } else if (st.isDirectory()) walk(p);
    }
  };
  walk(target);
}

function readlinkText(p: string): string {
  return Deno.readLinkSync(p);
}

Deno.test("manifest: hostile manifests end in a manifest or a BadInputError", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.jsonValue({ maxDepth: 3 }),
      fc.array(manifestEntryArb, { maxLength: 5 }),
      async (junk, es) => {
        await assertTyped(() => parseManifest(new TextEncoder().encode(JSON.stringify(junk))));
        const m = manifestOf([...es, junk]);
        await assertTyped(() => parseManifest(new TextEncoder().encode(JSON.stringify(m))));
      },
    ),
    fuzzParams(300),
  );
});

Deno.test("manifest: a manifest that validates never makes restore write outside the target", async () => {
  const root = mkdtempSync(join(tmpdir(), "vigo-fuzz-manifest-"));
  let accepted = 0;
  try {
    await fc.assert(
      fc.property(fc.array(manifestEntryArb, { maxLength: 6 }), (es) => {
        let m: Manifest;
        try {
          m = parseManifest(new TextEncoder().encode(JSON.stringify(manifestOf(es))));
        } catch {
          return; // refused: nothing is written
        }
        accepted++;
        const dir = mkdtempSync(join(root, "r"));
        try {
          materialise(m, dir);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      fuzzParams(300),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.ok(accepted > 10, `only ${accepted} generated manifests validated: the property tested little`);
});

Deno.test("manifest: time is linear in the number of entries and links", async () => {
  const many = (n: number) => {
    const es: unknown[] = [];
    for (let i = 0; i < n; i++) {
      es.push({ path: `stacks/l${i}`, type: "symlink", mode: "777", target: "x" });
      es.push({ path: `stacks/d${i}/f`, type: "file", mode: "644", size: 1, sha256: "a".repeat(64) });
    }
    return new TextEncoder().encode(JSON.stringify(manifestOf(es)));
  };
  await assertLinear("manifest links × entries", many, (b) => parseManifest(b as Uint8Array), 200);
});

Deno.test("tar and manifest: regression vectors", async () => {
  await checkVectors("tar", (v) => readAll(v.bytes), codec);
  await checkVectors("manifest", (v) => parseManifest(v.bytes));
});
