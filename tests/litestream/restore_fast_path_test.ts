/**
 * A file replica is restored by reading its files directly (lib/litestream/restore.ts), not through
 * `Backend.get`. The fast path is found by unwrapping decorators (`asBackend`), so it stays on
 * behind the retry decorator that `openBackend` puts in front of every backend, and turns off for
 * a decorator that hides what it wraps.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { asBackend, type Backend, type ObjectInfo } from "../../lib/backend/backend.ts";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { retryBackend } from "../../lib/backend/retry.ts";
import { openBackend } from "../../lib/backends.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { restoreReplica } from "../../lib/litestream/restore.ts";
import { buildReplica } from "./handmade_replica.ts";

/** Records the keys read through `get`; exposes what it wraps only when `transparent`. */
class Recorder implements Backend {
  readonly url: string;
  readonly gets: string[] = [];

  constructor(private readonly inner: Backend, transparent: boolean) {
    this.url = inner.url;
    if (transparent) this.unwrap = () => inner;
  }

  unwrap?: () => Backend;
  put(key: string, body: Uint8Array): Promise<void> {
    return this.inner.put(key, body);
  }
  get(key: string): Promise<ReadableStream<Uint8Array>> {
    this.gets.push(key);
    return this.inner.get(key);
  }
  stat(key: string): Promise<ObjectInfo | null> {
    return this.inner.stat(key);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

Deno.test("asBackend finds the file backend through decorators, and nothing where there is none", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-unwrap-" });
  try {
    const opened = await openBackend(`file://${dir}`);
    assert(!(opened instanceof FileBackend), "openBackend returns the retry decorator");
    assertEquals(asBackend(opened, FileBackend)?.root, dir);
    const file = new FileBackend(`file://${dir}`);
    assertEquals(asBackend(retryBackend(new Recorder(retryBackend(file), true)), FileBackend), file);
    assertEquals(asBackend(retryBackend(new Recorder(file, false)), FileBackend), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore reads a file replica's objects directly through the retry decorator", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-fastpath-" });
  try {
    const file = new FileBackend(`file://${dir}/replica`);
    const made = await buildReplica(replicaClientFor(file), "3a5b7c9d1e2f4a6b", dir, false);
    assert(made.length > 1, "the replica has a snapshot and WAL segments");

    const seen = new Recorder(file, true);
    await restoreReplica(replicaClientFor(retryBackend(seen)), { outputPath: `${dir}/fast.db` });
    assertEquals(seen.gets, [], "no object went through Backend.get");

    // The same restore behind a decorator that hides the file backend reads every object via get.
    const hidden = new Recorder(file, false);
    await restoreReplica(replicaClientFor(retryBackend(hidden)), { outputPath: `${dir}/slow.db` });
    assertEquals(hidden.gets.length, made.length, hidden.gets.join(", "));
    assertEquals(await Deno.readFile(`${dir}/fast.db`), await Deno.readFile(`${dir}/slow.db`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
