/**
 * What mod.ts offers beyond its functions: every type a public signature names can be imported (deno
 * doc's lint finds none private), a caller decides where the library's notices go, and arguments the
 * CLI would have refused are refused by the library too, as typed errors.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import type { CollectOptions, InstallOptions, KdfCap, PutOptions, SftpOptions } from "../mod.ts";
import {
  installUnits,
  loadServerConfig,
  NotFoundError,
  openBackend,
  openFileSink,
  openRemoteSink,
  Replicator,
  setNoticeSink,
  uploadArchive,
  UsageError,
  writeArchive,
} from "../mod.ts";
import { makeServerRoot } from "./archive/fixture.ts";

Deno.test("mod.ts: no public signature names a type the module does not export", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", new URL("../mod.ts", import.meta.url).pathname],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(text.includes("missing-jsdoc") || out.success, `deno doc --lint did not run: ${text.slice(0, 500)}`);
  assertEquals(text.split("\n").filter((l) => l.includes("private-type-ref")), []);
  // Named here so that removing one of them from mod.ts fails the type check of this file.
  const _: KdfCap | CollectOptions | InstallOptions | PutOptions | SftpOptions | undefined = undefined;
});

Deno.test("mod.ts: setNoticeSink takes the library's notices off stderr", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  const backend = await openBackend(`file://${fx.root}/remote`);
  const lines: string[] = [];
  const stop = new AbortController();
  setNoticeSink((line) => {
    lines.push(line);
    stop.abort(new Error("stopped by the test"));
  });
  try {
    const config = await loadServerConfig(fx.serverYaml, fx.root, { secrets: "skip" });
    const local = join(fx.root, "snapshots", "a.tar.gz");
    const file = await openFileSink(local);
    await writeArchive({ config, workDir: join(fx.root, "snapshots"), output: local }, file.writable);
    await file.done;
    // The same name stored without its sidecar: the upload waits for it, and says so in a notice.
    const stored = await openRemoteSink(backend, "a.tar.gz");
    await writeArchive({ config, workDir: join(fx.root, "snapshots") }, stored.writable);
    await stored.done;
    await Deno.remove(join(fx.root, "remote", "archives", "a.tar.gz.sha256"));
    const err = await uploadArchive(backend, local, { signal: stop.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    assert(err instanceof Error, "the upload was stopped");
    assertEquals(lines.length, 1);
    assert(lines[0].includes("a.tar.gz.sha256: not stored beside its archive"), lines[0]);
  } finally {
    setNoticeSink(undefined);
    await backend.close();
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("mod.ts: Replicator.start on a missing database is NotFoundError naming it, as the CLI's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = new Replicator({
      dbPath: join(dir, "missing.db"),
      backup: {
        url: `file://${dir}/replica`,
        destination: { scheme: "file" },
        retentionMs: 86_400_000,
        syncIntervalMs: 1000,
        snapshotIntervalMs: 86_400_000,
      },
      log: () => {},
    });
    const err = await r.start().then(() => null, (e: unknown) => e);
    assert(err instanceof NotFoundError, String(err));
    assertEquals(err.message, `${join(dir, "missing.db")}: database not found`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mod.ts: installUnits refuses a unit name that leaves its directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "units"));
    for (const name of ["../outside.service", "a/b.service", "..", ""]) {
      const err = await installUnits([{ name, text: "[Unit]\n" }], { dir: join(dir, "units") }).then(
        () => null,
        (e: unknown) => e,
      );
      assert(err instanceof UsageError, `${name}: ${err}`);
    }
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["units"]);
    assertEquals([...Deno.readDirSync(join(dir, "units"))].length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
