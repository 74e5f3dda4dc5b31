/**
 * What is specific to the file:// backend (the shared conformance suite runs against it in
 * tests/backend/file_conformance_test.ts).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { FileBackend, fileUrlToRoot } from "../../lib/backend/file/file_backend.ts";
import { openBackend } from "../../lib/backends.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("file backend: URLs and paths", () => {
  assertEquals(fileUrlToRoot("file:///var/backups/vigo/"), "/var/backups/vigo");
  assertEquals(fileUrlToRoot("file://localhost/x"), "/x");
  assertEquals(fileUrlToRoot("/plain/path"), "/plain/path");
  assertEquals(fileUrlToRoot("file:///with%20space"), "/with space");
  // The text is a literal path, as restic and rclone take one: a URL parser cut it at "#" or "?".
  assertEquals(fileUrlToRoot("file:///srv/backups/a#b"), "/srv/backups/a#b");
  assertEquals(fileUrlToRoot("file:///srv/backups/a?b/"), "/srv/backups/a?b");
  assertEquals(fileUrlToRoot("file:///srv/backups/a%23b%3F"), "/srv/backups/a#b?");
  assertEquals(fileUrlToRoot("file:///srv/x/../a#"), "/srv/a#");
  let err: unknown;
  try {
    fileUrlToRoot("file://host/x");
  } catch (e) {
    err = e;
  }
  assert(err instanceof ConfigError);
});

Deno.test("file backend: temp files of ours and Litestream's are never listed; keys cannot escape", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const b = new FileBackend(`file://${dir}`);
    await b.put("w/00000000_00000000.wal.lz4", new Uint8Array([1]));
    await Deno.writeFile(`${dir}/w/00000000_00001000.wal.lz4.tmp`, new Uint8Array([2]));
    await Deno.writeFile(`${dir}/w/.00000000_00002000.wal.lz4.tmp-a1b2c3`, new Uint8Array([3]));
    const keys = [];
    for await (const o of b.list("w/")) keys.push(o.key);
    assertEquals(keys, ["w/00000000_00000000.wal.lz4"]);
    for (const bad of ["../x", "a/../../x", "/etc/passwd", "a//b", ""]) {
      let threw = false;
      try {
        await b.put(bad, new Uint8Array([1]));
      } catch {
        threw = true;
      }
      assert(threw, bad);
    }
    assertEquals((await Deno.stat(`${dir}/w/00000000_00000000.wal.lz4`)).mode! & 0o777, 0o600);
    await b.delete(["w/00000000_00000000.wal.lz4"]);
    // the directory still holds the temp files, so it stays
    assert((await Deno.stat(`${dir}/w`)).isDirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("open_backend: unknown schemes and non-URLs fail clearly, without credentials in the message", async () => {
  for (const url of ["ftp://u:pw@x/y", "relative/dir", "mailto:x@y"]) {
    let err: unknown;
    try {
      await openBackend(url);
    } catch (e) {
      err = e;
    }
    assert(err instanceof ConfigError, url);
    assert(!err.message.includes("pw@"), err.message);
  }
  const b = await openBackend("/tmp/some/dir");
  assertEquals(b.url, "file:///tmp/some/dir");
});

Deno.test("file backend: a listing removes the temp file of a put whose process is dead, not a live one's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const b = new FileBackend(`file://${dir}`);
    await b.put("g/s/00000000.snapshot.lz4", new Uint8Array([1]));
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    const dead = `${dir}/g/s/.00000001.snapshot.lz4.tmp-${gone.pid}-0123456789ab`;
    const live = `${dir}/g/s/.00000002.snapshot.lz4.tmp-${Deno.pid}-0123456789ab`;
    await Deno.writeFile(dead, new Uint8Array([2]));
    await Deno.writeFile(live, new Uint8Array([3]));
    const keys = [];
    for await (const o of b.list("g/")) keys.push(o.key);
    assertEquals(keys, ["g/s/00000000.snapshot.lz4"]);
    assert(!(await Deno.lstat(dead).then(() => true, () => false)), "dead writer's temp file kept");
    assert(await Deno.lstat(live).then(() => true, () => false), "live writer's temp file removed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
