/** Unit tests of the parallel gzip writer: output is standard multi-member gzip, in order, with cut points. */
import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { ParallelGzipWriter } from "../../lib/codec/gzip/gzip_parallel.ts";
import { gunzip } from "../../lib/codec/gzip/gunzip_members.ts";
import { npmTool } from "../helpers/tools.ts";
import { REPO_ROOT } from "../helpers/cli.ts";

function sample(n: number): Uint8Array {
  const text = new TextEncoder().encode("name: web\npackages: [nginx, curl]\n".repeat(Math.ceil(n / 34)));
  const out = text.subarray(0, n);
  crypto.getRandomValues(out.subarray(0, Math.min(4096, n)));
  return out;
}

async function compress(
  parts: Uint8Array[],
  opts: { workers: number; blockSize: number },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const sink = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c.slice()) });
  const w = sink.getWriter();
  const gz = new ParallelGzipWriter(w, opts);
  try {
    for (const p of parts) {
      await gz.write(p);
      await gz.cut();
    }
    await gz.flush();
  } finally {
    gz.close();
  }
  await w.close();
  return new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer());
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

Deno.test("worker and in-thread compression both give gzip(1)-readable, ordered multi-member output", async () => {
  const parts = [sample(300), sample(200_000), sample(1), sample(70_000)];
  for (const workers of [0, 2]) {
    const gz = await compress(parts, { workers, blockSize: 16 * 1024 });
    const members = (await memberEnds(gz)).length;
    assert.ok(members >= 4 + Math.floor(270_000 / 16384), `${members} members`);
    assert.deepEqual(new Uint8Array(gunzipSync(gz)), concat(parts));
    const dir = await Deno.makeTempDir();
    await Deno.writeFile(`${dir}/x.gz`, gz);
    const out = await new Deno.Command("gzip", { args: ["-dc", `${dir}/x.gz`], stdout: "piped" }).output();
    assert.equal(out.code, 0);
    assert.deepEqual(out.stdout, concat(parts));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the first cut makes the first member hold exactly the first part", async () => {
  const first = sample(5000);
  const gz = await compress([first, sample(100_000)], { workers: 1, blockSize: 64 * 1024 });
  const firstMemberEnd = (await memberEnds(gz))[0];
  assert.deepEqual(new Uint8Array(gunzipSync(gz.subarray(0, firstMemberEnd))), first);
});

Deno.test("gunzip reads every member and rejects corruption", async () => {
  const data = sample(100_000);
  const gz = await compress([data], { workers: 2, blockSize: 8192 });
  const read = async (bytes: Uint8Array) =>
    new Uint8Array(await new Response(gunzip(new Blob([bytes as BlobPart]).stream())).arrayBuffer());
  assert.deepEqual(await read(gz), data);
  const bad = gz.slice();
  bad[Math.floor(bad.length / 2)] ^= 0xff;
  await assert.rejects(() => read(bad), /gzip/);
  await assert.rejects(() => read(gz.subarray(0, gz.length - 5)), /gzip/);
});

// Under Bun (the executables' runtime) members come from libdeflate; under Deno, which has none, from
// zlib. The archive must read back everywhere either way, and dumps (engine "zlib") must not change.
Deno.test("under Bun, archive members come from libdeflate and every reader inflates them; dumps stay zlib", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = sample(300_000);
    await Deno.writeFile(`${dir}/in`, input);
    const script = `${dir}/gz.ts`;
    await Deno.writeTextFile(
      script,
      `import { readFileSync, writeFileSync } from "node:fs";
import { ParallelGzipWriter } from "${REPO_ROOT}lib/codec/gzip/gzip_parallel.ts";
import { workerGzip } from "${REPO_ROOT}lib/codec/gzip/gzip_pieces.ts";
const input = readFileSync("${dir}/in");
const chunks = [];
const w = new WritableStream({ write: (c) => void chunks.push(c.slice()) }).getWriter();
const gz = new ParallelGzipWriter(w, { workers: 2 });
await gz.write(new Uint8Array(input));
await gz.flush();
gz.close();
writeFileSync("${dir}/archive.gz", Buffer.concat(chunks));
const dump = workerGzip(6);
writeFileSync("${dir}/dump.gz", await dump.compress(new Uint8Array(input)));
await dump.close();
`,
    );
    const run = await new Deno.Command(npmTool("bun"), { args: ["run", script], stderr: "piped" }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const archive = await Deno.readFile(`${dir}/archive.gz`);
    const ends = await memberEnds(archive);
    assert.equal(ends.length, Math.ceil(input.length / 65536));
    // libdeflate writes OS "unknown" (255) in every member header, zlib writes 3 (Unix).
    for (const start of [0, ...ends.slice(0, -1)]) {
      assert.equal(archive[start + 9], 255, `member at ${start}`);
    }
    assert.deepEqual(new Uint8Array(gunzipSync(archive)), input);
    const gzip = await new Deno.Command("gzip", { args: ["-dc", `${dir}/archive.gz`], stdout: "piped" })
      .output();
    assert.deepEqual(gzip.stdout, input);
    const ours = new Uint8Array(await new Response(gunzip(new Blob([archive]).stream())).arrayBuffer());
    assert.deepEqual(ours, input);
    // The dump's member is zlib's, byte for byte, whichever runtime made it.
    assert.deepEqual(await Deno.readFile(`${dir}/dump.gz`), new Uint8Array(gzipSync(input, { level: 6 })));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Offsets where each gzip member ends, from Python's zlib (which reports the unused tail exactly). */
async function memberEnds(gz: Uint8Array): Promise<number[]> {
  const py = `import sys, zlib
data = sys.stdin.buffer.read(); off = 0; ends = []
while off < len(data):
    d = zlib.decompressobj(31); d.decompress(data[off:])
    assert d.eof
    off = len(data) - len(d.unused_data); ends.append(off)
print(" ".join(map(str, ends)))`;
  const child = new Deno.Command("python3", { args: ["-c", py], stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(gz);
  await w.close();
  const out = await child.output();
  assert.equal(out.code, 0);
  return new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
}
