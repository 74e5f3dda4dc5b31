/**
 * The member-length subfield (lib/codec/gzip/member_length.ts): the vectors of docs/archive-format.md
 * section 3.1, read from the document itself, and streams that gunzip_members.ts must read or refuse.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { concatBytes } from "../../lib/bytes.ts";
import { gunzip } from "../../lib/codec/gzip/gunzip_members.ts";
import { readMemberHead, withLengthSubfield } from "../../lib/codec/gzip/member_length.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { npmTool } from "../helpers/tools.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));

async function docVectors(): Promise<{ name: string; bytes: Uint8Array; result: string }[]> {
  const doc = await Deno.readTextFile(`${REPO_ROOT}docs/archive-format.md`);
  const table =
    doc.split("<!-- member-length-vectors:begin -->")[1].split("<!-- member-length-vectors:end -->")[0];
  return table.split("\n")
    .map((line) => line.split("|").map((c) => c.trim()))
    .filter((cells) => cells.length === 5 && cells[2].startsWith("`"))
    .map((cells) => ({ name: cells[1], bytes: hex(cells[2].replaceAll("`", "")), result: cells[3] }));
}

Deno.test("member-length vectors of docs/archive-format.md: each parses or fails as stated", async () => {
  const vectors = await docVectors();
  assert.equal(vectors.length, 13);
  for (const v of vectors) {
    const sized = /^sized (\d+)/.exec(v.result);
    const fails = /^fails: (.+)$/.exec(v.result);
    if (sized) assert.deepEqual(readMemberHead(v.bytes), { kind: "sized", length: Number(sized[1]) }, v.name);
    else if (fails) {
      assert.throws(() => readMemberHead(v.bytes), (e: Error) => e.message.includes(fails[1]), v.name);
    } else assert.deepEqual(readMemberHead(v.bytes), { kind: "unsized" }, v.name);
  }
  // The whole-member vector is what the writer makes of zlib's member, and reads back.
  const whole = vectors.find((v) => v.name === "hello, whole member")!.bytes;
  const zlibMember = gzipSync(new TextEncoder().encode("hello\n"), { level: 6 });
  assert.deepEqual(withLengthSubfield(new Uint8Array(zlibMember)), whole);
  assert.equal(new TextDecoder().decode(await read([whole])), "hello\n");
});

Deno.test("a header cut short asks for more bytes instead of failing", () => {
  const whole = withLengthSubfield(new Uint8Array(gzipSync(new Uint8Array(10))));
  assert.deepEqual(readMemberHead(whole.subarray(0, 5)), { kind: "more", need: 10 });
  assert.deepEqual(readMemberHead(whole.subarray(0, 11)), { kind: "more", need: 12 });
  assert.deepEqual(readMemberHead(whole.subarray(0, 15)), { kind: "more", need: 20 });
});

/** Tagged members of `parts`, as the archive writer makes them. */
function members(parts: Uint8Array[]): Uint8Array[] {
  return parts.map((p) => withLengthSubfield(new Uint8Array(gzipSync(p, { level: 6 }))));
}

function sample(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 24) % 16 + 97; // compressible, not trivially so
  }
  return out;
}

/** Reads the concatenation of `pieces` through gunzip, fed in chunks of `chunk` bytes. */
async function read(
  pieces: Uint8Array[],
  opts: { workers?: number; chunk?: number } = {},
): Promise<Uint8Array> {
  const all = concatBytes(pieces);
  const chunk = opts.chunk ?? 7919;
  let at = 0;
  const input = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= all.length) c.close();
      else {
        c.enqueue(all.slice(at, at + chunk));
        at += chunk;
      }
    },
  });
  return new Uint8Array(await new Response(gunzip(input, { workers: opts.workers })).arrayBuffer());
}

const parts = Array.from({ length: 40 }, (_, i) => sample(i === 7 ? 1 : 65536 - (i % 3) * 1000, i + 1));

Deno.test("sized members read back in order, on workers and without them, whatever the input's cuts", async () => {
  for (const workers of [0, 1, 2]) {
    for (const chunk of [1000, 65536, 1 << 20]) {
      assert.deepEqual(
        await read(members(parts), { workers, chunk }),
        concatBytes(parts),
        `${workers}/${chunk}`,
      );
    }
  }
});

Deno.test("unsized members (another writer's gzip, an old archive) read, alone and after sized ones", async () => {
  const plain = parts.slice(0, 5).map((p) => new Uint8Array(gzipSync(p)));
  assert.deepEqual(await read(plain, { workers: 2 }), concatBytes(parts.slice(0, 5)));
  const mixed = [...members(parts.slice(0, 10)), ...plain];
  assert.deepEqual(
    await read(mixed, { workers: 2 }),
    concatBytes([...parts.slice(0, 10), ...parts.slice(0, 5)]),
  );
});

Deno.test("a member too big for the fast path (a 3 MiB run) is inflated in order, streamed", async () => {
  const big = new Uint8Array(3 << 20).fill(0x61);
  const list = [parts[0], big, parts[1]];
  assert.deepEqual(await read(members(list), { workers: 2 }), concatBytes(list));
});

/** A copy of tagged `m` whose length subfield says `length`. */
function withLength(m: Uint8Array, length: number): Uint8Array {
  const out = m.slice();
  new DataView(out.buffer).setUint32(16, length, true);
  return out;
}

Deno.test("streams that must fail: wrong lengths, a lying ISIZE, a flipped bit, a cut", async () => {
  const good = members(parts.slice(0, 6));
  const patched = (i: number, at: number, bit: number) => {
    const m = good[i].slice();
    m[at < 0 ? m.length + at : at] ^= bit;
    return [...good.slice(0, i), m, ...good.slice(i + 1)];
  };
  const lengthCases: [string, Uint8Array[]][] = [
    ["length one too long", [...good.slice(0, 3), withLength(good[3], good[3].length + 1), ...good.slice(4)]],
    ["length one too short", [
      ...good.slice(0, 3),
      withLength(good[3], good[3].length - 1),
      ...good.slice(4),
    ]],
  ];
  const gzipCases: [string, Uint8Array[]][] = [
    ["ISIZE lies", patched(3, -4, 1)],
    ["flipped bit", patched(3, good[3].length >> 1, 0x10)],
    ["cut inside a member", [...good.slice(0, 3), good[3].subarray(0, 500)]],
    ["empty", []],
  ];
  // 0 workers: the members are cut by their lengths and inflated on the calling thread.
  for (const workers of [0, 1, 2]) {
    for (const [name, stream] of [...lengthCases, ...gzipCases]) {
      await assert.rejects(
        () => read(stream, { workers }),
        /not a valid gzip stream/,
        `${name}, ${workers} workers`,
      );
    }
  }
});

/** Tagged `m` rewritten with FLG.FHCRC and a header CRC (off by one when `bad`) after its extra field. */
function withHeaderCrc(m: Uint8Array, bad = false): Uint8Array {
  const head = m.slice(0, 20); // fixed header + XLEN + the length subfield
  head[3] |= 0x02;
  new DataView(head.buffer).setUint32(16, m.length + 2, true);
  let c = 0xffffffff;
  for (const b of head) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  const crc = ((c ^ 0xffffffff) & 0xffff) ^ (bad ? 1 : 0);
  return concatBytes([head, Uint8Array.of(crc & 0xff, crc >> 8), m.subarray(20)]);
}

Deno.test("a sized member's header CRC (FHCRC) is checked on every path; a wrong one fails", async () => {
  const good = members(parts.slice(0, 4));
  const right = [good[0], withHeaderCrc(good[1]), ...good.slice(2)];
  const wrong = [good[0], withHeaderCrc(good[1], true), ...good.slice(2)];
  for (const workers of [0, 1, 2]) {
    assert.deepEqual(await read(right, { workers }), concatBytes(parts.slice(0, 4)), `${workers} workers`);
    await assert.rejects(
      () => read(wrong, { workers }),
      /not a valid gzip stream \(member 2: header CRC mismatch \(stored 0x[0-9a-f]{4}, computed 0x[0-9a-f]{4}\)\)/,
      `${workers} workers`,
    );
  }
});

Deno.test("after sized members, as after an unsized one, a zero byte ends the stream and the rest is ignored", async () => {
  const good = members(parts.slice(0, 4));
  const plain = concatBytes(parts.slice(0, 4));
  const unsized = parts.slice(0, 4).map((p) => new Uint8Array(gzipSync(p)));
  for (const workers of [0, 2]) {
    for (const stream of [good, unsized]) {
      const sized = stream === good ? "sized" : "unsized";
      for (const tail of [new Uint8Array(512), Uint8Array.of(0, 1, 2, 0x1f, 0x8b)]) {
        assert.deepEqual(await read([...stream, tail], { workers }), plain, `${sized}, ${workers} workers`);
      }
      await assert.rejects(
        () => read([...stream, Uint8Array.of(1, 2, 3)], { workers }),
        /not a valid gzip stream/,
      );
    }
  }
});

// Under Bun (the executables) members inflate with libdeflate, on the workers and on the calling thread
// alike, and it cannot be capped like zlib: the same streams must read, and fail, there too.
Deno.test("under Bun, libdeflate (workers and calling thread) reads sized members and refuses a lying ISIZE or length or header CRC", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = members(parts.slice(0, 12));
    const lying = good.map((m, i) => {
      if (i !== 5) return m;
      const c = m.slice();
      c[c.length - 4] ^= 1;
      return c;
    });
    const tooLong = good.map((m, i) => (i === 5 ? withLength(m, m.length + 1) : m));
    await Deno.writeFile(`${dir}/good.gz`, concatBytes(good));
    await Deno.writeFile(`${dir}/lying.gz`, concatBytes(lying));
    await Deno.writeFile(`${dir}/long.gz`, concatBytes(tooLong));
    const badCrc = good.map((m, i) => (i === 5 ? withHeaderCrc(m, true) : m));
    await Deno.writeFile(`${dir}/badcrc.gz`, concatBytes(badCrc));
    await Deno.writeFile(`${dir}/zeros.gz`, concatBytes([...good, new Uint8Array(512)]));
    const script = `${dir}/read.ts`;
    await Deno.writeTextFile(
      script,
      `import { openAsBlob } from "node:fs";
import { gunzip } from "${REPO_ROOT}lib/codec/gzip/gunzip_members.ts";
for (const workers of [2, 0]) {
  for (const name of ["good", "lying", "long", "badcrc", "zeros"]) {
    const stream = (await openAsBlob("${dir}/" + name + ".gz")).stream();
    try {
      const out = new Uint8Array(await new Response(gunzip(stream, { workers })).arrayBuffer());
      console.log(name, "read", out.length, Bun.hash.crc32(out));
    } catch (err) {
      console.log(name, "failed", err.message);
    }
  }
}
`,
    );
    const run = await new Deno.Command(npmTool("bun"), {
      args: ["run", script],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const lines = new TextDecoder().decode(run.stdout).trim().split("\n");
    const expected = concatBytes(parts.slice(0, 12));
    const crc = Number(await bunCrc32(expected, dir));
    assert.equal(lines.length, 10, lines.join("\n"));
    for (const at of [0, 5]) {
      assert.equal(lines[at], `good read ${expected.length} ${crc}`);
      assert.match(lines[at + 1], /^lying failed not a valid gzip stream \(a member of \d+ bytes/);
      assert.match(lines[at + 2], /^long failed not a valid gzip stream/);
      assert.match(lines[at + 3], /^badcrc failed not a valid gzip stream \(member 6: header CRC mismatch/);
      assert.equal(lines[at + 4], `zeros read ${expected.length} ${crc}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function bunCrc32(data: Uint8Array, dir: string): Promise<string> {
  await Deno.writeFile(`${dir}/plain`, data);
  await Deno.writeTextFile(
    `${dir}/crc.ts`,
    `console.log(Bun.hash.crc32(await Bun.file("${dir}/plain").bytes()));`,
  );
  const out = await new Deno.Command(npmTool("bun"), { args: ["run", `${dir}/crc.ts`], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout).trim();
}
