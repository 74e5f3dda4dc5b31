/** Unit tests of the tar codec (headers, pax records, the streaming reader), cross-checked with Python's tarfile. */
import assert from "node:assert/strict";
import {
  BLOCK,
  decodeHeaderBlock,
  decodePaxRecords,
  encodeHeader,
  encodePaxRecords,
  type TarHeader,
} from "../../lib/codec/tar/tar_format.ts";
import { TarReader } from "../../lib/codec/tar/tar_reader.ts";
import { TarWriter } from "../../lib/codec/tar/tar_writer.ts";
import { CodecError } from "../../lib/codec/codec_error.ts";
import { concatBytes } from "../../lib/bytes.ts";

const enc = new TextEncoder();

async function tarOf(entries: [TarHeader, Uint8Array][]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const tar = new TarWriter({ write: (c) => Promise.resolve(void parts.push(c.slice())) });
  for (const [h, data] of entries) await tar.entry(h, [data]);
  await tar.end();
  return concatBytes(parts);
}

function streamOf(bytes: Uint8Array, chunk = 7): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(off, off + chunk));
      off += chunk;
    },
  });
}

const base = { mode: 0o640, mtime: 1_700_000_000, uid: 1000, gid: 1000 };
const longName = `stacks/${"deep/".repeat(30)}file-with-a-long-name.yaml`;

Deno.test("ustar header round trip, checksum verified", () => {
  const h: TarHeader = { ...base, path: "stacks/a.yaml", type: "file", size: 1234 };
  const block = encodeHeader(h);
  assert.equal(block.length, BLOCK);
  const raw = decodeHeaderBlock(block);
  assert.equal(raw.path, "stacks/a.yaml");
  assert.equal(raw.size, 1234);
  assert.equal(raw.mode, 0o640);
  assert.equal(raw.typeflag, "0");
  block[10] ^= 1;
  assert.throws(() => decodeHeaderBlock(block), /checksum/);
});

Deno.test("pax records: lengths count themselves, including the digit roll-over", () => {
  for (const n of [1, 5, 6, 7, 90, 91, 92, 93, 994, 995, 996]) {
    const value = "v".repeat(n);
    const bytes = encodePaxRecords({ path: value });
    const text = new TextDecoder().decode(bytes);
    assert.equal(Number(text.split(" ")[0]), bytes.length, `record for ${n} chars`);
    assert.deepEqual(decodePaxRecords(bytes), { path: value });
  }
  assert.throws(() => decodePaxRecords(enc.encode("99 path=x\n")), /malformed/);
});

Deno.test("TarReader reads long, non-ASCII names, links and data across odd chunk boundaries", async () => {
  const data = enc.encode("hello\n".repeat(200));
  const tar = await tarOf([
    [{ ...base, path: "stacks/", type: "dir", size: 0, mode: 0o755 }, new Uint8Array()],
    [{ ...base, path: longName, type: "file", size: data.length }, data],
    [{ ...base, path: "stacks/ünï.yaml", type: "file", size: 3 }, enc.encode("a:1")],
    [
      { ...base, path: "stacks/link", type: "symlink", size: 0, linkname: `../${"x".repeat(120)}` },
      new Uint8Array(),
    ],
  ]);
  const r = new TarReader(streamOf(tar));
  const seen: string[] = [];
  for (let e = await r.next(); e; e = await r.next()) {
    let n = 0;
    for await (const c of e.body()) n += c.length;
    seen.push(`${e.header.type} ${e.header.path} ${n} ${e.header.linkname ?? ""}`);
  }
  assert.deepEqual(seen, [
    "dir stacks/ 0 ",
    `file ${longName} ${data.length} `,
    "file stacks/ünï.yaml 3 ",
    `symlink stacks/link 0 ../${"x".repeat(120)}`,
  ]);
});

Deno.test("TarReader: truncation and a missing end marker are errors", async () => {
  const tar = await tarOf([[{ ...base, path: "a", type: "file", size: 1000 }, new Uint8Array(1000)]]);
  const cut = new TarReader(streamOf(tar.subarray(0, 700)));
  const e = await cut.next();
  await assert.rejects(async () => {
    for await (const _ of e!.body()) { /* read */ }
  }, /truncated/);
  const noEnd = new TarReader(streamOf(tar.subarray(0, tar.length - 1024)));
  await noEnd.next();
  await assert.rejects(() => noEnd.next(), /truncated/);
});

Deno.test("TarWriter pads every entry to a block and refuses data that disagrees with the header", async () => {
  const tar = await tarOf([[{ ...base, path: "a", type: "file", size: 3 }, enc.encode("abc")]]);
  assert.equal(tar.length, BLOCK + BLOCK + 2 * BLOCK, "header, one padded data block, end marker");
  const w = new TarWriter({ write: () => Promise.resolve() });
  await assert.rejects(
    () => w.entry({ ...base, path: "short", type: "file", size: 4 }, [enc.encode("abc")]),
    (err: Error) => err instanceof CodecError && /short: 3 data bytes, its header says 4/.test(err.message),
  );
});

Deno.test("Python's tarfile reads what we write (pax names, links, modes)", async () => {
  const tar = await tarOf([
    [{ ...base, path: longName, type: "file", size: 2 }, enc.encode("ok")],
    [{ ...base, path: "stacks/ünï.yaml", type: "file", size: 0, mode: 0o600 }, new Uint8Array()],
    [{ ...base, path: "stacks/l", type: "symlink", size: 0, linkname: "ünï.yaml" }, new Uint8Array()],
  ]);
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/t.tar`, tar);
  const py = `import tarfile,sys
for m in tarfile.open(sys.argv[1]): print(m.name, oct(m.mode), m.size, m.linkname)`;
  const out = await new Deno.Command("python3", { args: ["-c", py, `${dir}/t.tar`], stdout: "piped" })
    .output();
  assert.equal(out.code, 0);
  assert.deepEqual(new TextDecoder().decode(out.stdout).trim().split("\n"), [
    `${longName} 0o640 2 `,
    "stacks/ünï.yaml 0o600 0 ",
    "stacks/l 0o640 0 ünï.yaml",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TarReader reads a GNU tar archive (written by tar(1), long names)", async () => {
  const dir = await Deno.makeTempDir();
  const deep = `${dir}/src/${"d".repeat(60)}/${"e".repeat(60)}`;
  await Deno.mkdir(deep, { recursive: true });
  await Deno.writeTextFile(`${deep}/f.txt`, "gnu");
  await new Deno.Command("tar", { args: ["--format=gnu", "-cf", `${dir}/g.tar`, "-C", `${dir}/src`, "."] })
    .output();
  const r = new TarReader(streamOf(await Deno.readFile(`${dir}/g.tar`), 4096));
  const names: string[] = [];
  for (let e = await r.next(); e; e = await r.next()) {
    for await (const _ of e.body()) { /* skip */ }
    names.push(e.header.path);
  }
  assert.ok(names.includes(`./${"d".repeat(60)}/${"e".repeat(60)}/f.txt`), names.join(","));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("uid, gid and mtime beyond the ustar fields travel in pax records; values that fit add none", async () => {
  assert.equal(
    encodeHeader({ ...base, path: "a", type: "file", size: 0, uid: 0o7777777, mtime: 0 }).length,
    BLOCK,
  );
  const cases: TarHeader[] = [
    { ...base, path: "big-ids", type: "file", size: 1, uid: 3_000_000, gid: 4_294_967_294 },
    { ...base, path: "old", type: "file", size: 1, mtime: -315_619_200 },
    { ...base, path: "far", type: "file", size: 1, mtime: 10_413_792_000 },
    { ...base, path: "d/", type: "dir", size: 0, mtime: -1 },
  ];
  const tar = await tarOf(cases.map((h) => [h, new Uint8Array(h.size)]));
  const r = new TarReader(streamOf(tar));
  const ours: string[] = [];
  for (let e = await r.next(); e; e = await r.next()) {
    for await (const _ of e.body()) { /* skip */ }
    ours.push(`${e.header.path} ${e.header.uid} ${e.header.gid} ${e.header.mtime}`);
  }
  const want = cases.map((h) => `${h.path} ${h.uid} ${h.gid} ${h.mtime}`);
  assert.deepEqual(ours, want);

  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/t.tar`, tar);
  const py = `import tarfile,sys
for m in tarfile.open(sys.argv[1]): print(m.name + ("/" if m.isdir() else ""), m.uid, m.gid, int(m.mtime))`;
  const python = await new Deno.Command("python3", { args: ["-c", py, `${dir}/t.tar`], stdout: "piped" })
    .output();
  assert.equal(python.code, 0);
  assert.deepEqual(new TextDecoder().decode(python.stdout).trim().split("\n"), want);
  const gnu = await new Deno.Command("tar", {
    args: ["--numeric-owner", "--full-time", "-tvf", `${dir}/t.tar`],
    env: { TZ: "UTC" },
    stdout: "piped",
  }).output();
  assert.equal(gnu.code, 0);
  assert.deepEqual(
    new TextDecoder().decode(gnu.stdout).trim().split("\n").map((l) => l.split(/\s+/).slice(1, 5).join(" ")),
    [
      "3000000/4294967294 1 2023-11-14 22:13:20",
      "1000/1000 1 1960-01-01 00:00:00",
      "1000/1000 1 2300-01-01 00:00:00",
      "1000/1000 0 1969-12-31 23:59:59",
    ],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TarReader takes GNU tar's pax mtime with nanoseconds, rounded down, before 1970 too", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/src`);
  for (const [name, time] of [["old", "1960-01-01 00:00:00.5"], ["new", "2024-01-01 00:00:00.999999999"]]) {
    await Deno.writeTextFile(`${dir}/src/${name}`, name);
    const touch = await new Deno.Command("touch", { args: ["-d", `${time}Z`, `${dir}/src/${name}`] })
      .output();
    assert.equal(touch.code, 0);
  }
  const made = await new Deno.Command("tar", {
    args: ["--format=posix", "-cf", `${dir}/p.tar`, "-C", `${dir}/src`, "old", "new"],
  }).output();
  assert.equal(made.code, 0);
  const r = new TarReader(streamOf(await Deno.readFile(`${dir}/p.tar`), 4096));
  const seen: string[] = [];
  for (let e = await r.next(); e; e = await r.next()) {
    for await (const _ of e.body()) { /* skip */ }
    seen.push(`${e.header.path} ${e.header.mtime}`);
  }
  assert.deepEqual(seen, ["old -315619200", "new 1704067200"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TarReader refuses a pax uid, gid or mtime that is not a decimal number (written by Python)", async () => {
  for (const [key, value] of [["uid", "-1"], ["gid", "1e9"], ["mtime", "soon"], ["mtime", "1.5.2"]]) {
    const py = `import tarfile,sys
t = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
i = tarfile.TarInfo("a"); i.pax_headers = {sys.argv[1]: sys.argv[2]}; t.addfile(i); t.close()`;
    const out = await new Deno.Command("python3", { args: ["-c", py, key, value], stdout: "piped" }).output();
    assert.equal(out.code, 0);
    await assert.rejects(
      () => new TarReader(streamOf(out.stdout)).next(),
      new RegExp(`bad ${key} for entry a`),
      value,
    );
  }
});
