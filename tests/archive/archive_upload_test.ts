/**
 * `uploadArchive` against a backend that commits as soon as it has the announced number of bytes,
 * before the stream reports its end (what an HTTP PUT with a Content-Length may do): a file that does
 * not match its sidecar never gives it the whole body, so nothing is stored.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Backend, ObjectInfo, PutBody } from "../../lib/backend/backend.ts";
import { openBody } from "../../lib/backend/backend.ts";
import { uploadArchive } from "../../lib/archive/archive_upload.ts";
import { ExistsError, VerifyError } from "../../lib/errors.ts";

/** Stores a sized body once it has read `size` bytes, without waiting for the stream's end. */
class EagerBackend implements Backend {
  readonly url = "mem://eager";
  readonly objects = new Map<string, Uint8Array>();
  /** The keys put, in order. */
  readonly puts: string[] = [];

  async put(key: string, body: PutBody): Promise<void> {
    this.puts.push(key);
    const stream = openBody(body);
    if (stream instanceof Uint8Array) return void this.objects.set(key, stream);
    const size = typeof body === "object" && "size" in body ? body.size : Infinity;
    const reader = stream.getReader();
    const parts: Uint8Array[] = [];
    let have = 0;
    while (have < size) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      have += value.length;
    }
    reader.releaseLock();
    this.objects.set(key, new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer()));
  }
  get(): Promise<ReadableStream<Uint8Array>> {
    throw new Error("not used");
  }
  stat(key: string): Promise<ObjectInfo | null> {
    const o = this.objects.get(key);
    return Promise.resolve(o ? { key, size: o.length, mtime: new Date() } : null);
  }
  async *list(): AsyncIterable<ObjectInfo> {}
  delete(keys: string[]): Promise<void> {
    for (const k of keys) this.objects.delete(k);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("uploadArchive: a mismatched file's last byte is held back, so an eager backend stores nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-upload-eager-" });
  try {
    const path = join(dir, "x.tar.gz");
    const bytes = gzipSync(new Uint8Array(4096).fill(7));
    await Deno.writeFile(path, bytes);
    const good = createHash("sha256").update(bytes).digest("hex");
    const backend = new EagerBackend();

    await Deno.writeTextFile(`${path}.sha256`, `${"0".repeat(64)}  x.tar.gz\n`);
    await assert.rejects(() => uploadArchive(backend, path), (err) => {
      assert.ok(err instanceof VerifyError, String(err));
      assert.match(err.message, /checksum mismatch/);
      return true;
    });
    assert.deepEqual([...backend.objects.keys()], []);

    await Deno.writeTextFile(`${path}.sha256`, `${good}  x.tar.gz\n`);
    const r = await uploadArchive(backend, path);
    assert.equal(r.sha256, good);
    assert.deepEqual([...backend.objects.keys()], ["archives/x.tar.gz", "archives/x.tar.gz.sha256"]);
    assert.deepEqual(backend.objects.get("archives/x.tar.gz"), new Uint8Array(bytes));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A gzip archive and its sidecar in a new directory: its path. */
async function archiveWithSidecar(dir: string): Promise<string> {
  const path = join(dir, "x.tar.gz");
  const bytes = gzipSync(new Uint8Array(4096).fill(7));
  await Deno.writeFile(path, bytes);
  await Deno.writeTextFile(
    `${path}.sha256`,
    `${createHash("sha256").update(bytes).digest("hex")}  x.tar.gz\n`,
  );
  return path;
}

Deno.test("uploadArchive: a sidecar alone is a leftover, replaced after the archive is stored, with or without --replace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-upload-alone-" });
  try {
    const path = await archiveWithSidecar(dir);
    for (const replace of [false, true]) {
      const backend = new EagerBackend();
      backend.objects.set(
        "archives/x.tar.gz.sha256",
        new TextEncoder().encode(`${"0".repeat(64)}  x.tar.gz\n`),
      );
      await uploadArchive(backend, path, { replace });
      // The archive first: a prune that sees the sidecar alone meanwhile deletes only the leftover, and
      // the new sidecar comes after (put first, it was pruned while the archive was sent).
      assert.deepEqual(
        backend.puts,
        ["archives/x.tar.gz", "archives/x.tar.gz.sha256"],
        `replace: ${replace}`,
      );
      assert.equal(
        new TextDecoder().decode(backend.objects.get("archives/x.tar.gz.sha256")),
        await Deno.readTextFile(`${path}.sha256`),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("uploadArchive: an archive whose sidecar arrives while it waits is another upload's: exit 10, untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-upload-race-" });
  try {
    const path = await archiveWithSidecar(dir);
    const backend = new EagerBackend();
    const theirs = new Uint8Array([1, 2, 3]);
    backend.objects.set("archives/x.tar.gz", theirs);
    // The other upload's sidecar, a second after its archive.
    const timer = setTimeout(
      () => backend.objects.set("archives/x.tar.gz.sha256", new Uint8Array([9])),
      1000,
    );
    try {
      await assert.rejects(() => uploadArchive(backend, path), ExistsError);
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(backend.puts, []);
    assert.equal(backend.objects.get("archives/x.tar.gz"), theirs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
