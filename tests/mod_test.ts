/**
 * The library as a user sees it: everything comes from ../mod.ts (nothing from lib/), and the documented
 * entry points run against real files — an archive of a small server tree created, inspected, verified,
 * listed and restored; an encrypted one read with a caller-supplied password; archives on a file://
 * backend; a database replicated to file://, listed and restored; dumps, crates, secrets, LZ4.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import {
  collectStatus,
  CryptoError,
  decryptingStream,
  downloadArchive,
  encryptingStream,
  ExistsError,
  installUnits,
  listArchives,
  listRemoteArchives,
  listReplica,
  litestreamConfigFor,
  loadCrateFile,
  loadServerConfig,
  lz4CompressStream,
  lz4DecompressStream,
  openArchive,
  openBackend,
  openFileSink,
  openRemoteSink,
  parseCrate,
  parseCredentialsFile,
  pruneRemoteArchives,
  readManifestEntry,
  renderPrometheus,
  renderUnits,
  replicaClientFor,
  ReplicationMetrics,
  Replicator,
  restoreArchive,
  restoreDump,
  restoreReplica,
  runCrate,
  runDrill,
  SecretStore,
  uploadArchive,
  verifyArchive,
  VerifyError,
  VERSION,
  VigoError,
  writeArchive,
  writeGzipDump,
} from "../mod.ts";
import { makeServerRoot, treeHash } from "./archive/fixture.ts";
import { sqliteQuery } from "./helpers/sqlite_writer.ts";

/** Argon2id parameters small enough for a test (never for real data). */
const TINY = { m: 64, t: 1, p: 1 };
const bytesOf = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("succeeded, must fail");
}

Deno.test("mod.ts: create, inspect, verify, list and restore an archive", async () => {
  const fx = await makeServerRoot({ rows: 50 });
  try {
    assert(/^\d+\.\d+\.\d+/.test(VERSION), VERSION);
    const config = await loadServerConfig(fx.serverYaml, fx.root, { secrets: "skip" });
    const path = join(fx.root, "snapshots", "lib.tar.gz");
    const sink = await openFileSink(path);
    const made = await writeArchive({ config, workDir: join(fx.root, "snapshots") }, sink.writable);
    const file = await sink.done;
    assertEquals(file.path, path);
    assert(made.manifest.entries.some((e) => e.path === "db/vigo.db"));

    // inspect: the manifest at the start of the archive.
    const opened = await openArchive(path, { headOnly: true });
    try {
      assertEquals(opened.encrypted, false);
      assertEquals(await readManifestEntry(opened.tar), made.manifest);
    } finally {
      await opened.close();
    }

    const report = await verifyArchive(path, {});
    assertEquals([report.integrityCheck, report.scan.archiveSha256], ["ok", file.sha256]);
    assertEquals((await listArchives(join(fx.root, "snapshots"))).map((a) => a.name), ["lib.tar.gz"]);

    const target = join(fx.root, "restored");
    const restored = await restoreArchive({
      archive: path,
      target,
      dbOnly: false,
      dryRun: false,
      force: false,
      now: new Date(),
    });
    assertEquals(restored.target, target);
    const skip = (rel: string) => rel === "snapshots" || rel === "restored" || rel.startsWith("db/vigo.db");
    assertEquals(await treeHash(target, skip), await treeHash(fx.root, skip));
    assertEquals(await sqliteQuery(join(target, "db/vigo.db"), "SELECT count(*) FROM t"), "50");

    // The library never overwrites: a second archive at the same path is an ExistsError.
    const again = await rejection(openFileSink(path));
    assert(again instanceof ExistsError && again.exitCode === 10, String(again));
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("mod.ts: an encrypted archive asks the caller's password source, and only when encrypted", async () => {
  const fx = await makeServerRoot({ rows: 10 });
  try {
    const config = await loadServerConfig(fx.serverYaml, fx.root, { secrets: "skip" });
    const path = join(fx.root, "snapshots", "sealed.tar.gz");
    const sink = await openFileSink(path);
    const transform = await encryptingStream("s3cret", { argon2id: TINY });
    await writeArchive({ config, workDir: join(fx.root, "snapshots"), transform }, sink.writable);
    await sink.done;

    let asked = 0;
    const password = () => (asked++, Promise.resolve("s3cret"));
    assertEquals((await verifyArchive(path, { password })).scan.encrypted, true);
    assertEquals(asked, 1);

    const none = await rejection(openArchive(path));
    assert(none instanceof CryptoError && none.exitCode === 6, String(none));
    assert(none.message.includes("no password was given"), none.message);
    const wrong = await rejection(verifyArchive(path, { password: () => Promise.resolve("nope") }));
    assert(wrong instanceof CryptoError && /wrong password/.test(wrong.message), String(wrong));

    // The envelope streams on their own: what encryptingStream seals, decryptingStream opens.
    const sealed = await bytesOf(
      ReadableStream.from([new TextEncoder().encode("hello")]).pipeThrough(
        await encryptingStream("pw", { argon2id: TINY }),
      ),
    );
    const opened = await bytesOf(ReadableStream.from([sealed]).pipeThrough(decryptingStream("pw")));
    assertEquals(new TextDecoder().decode(opened), "hello");

    // A plain archive never asks.
    const plain = join(fx.root, "snapshots", "plain.tar.gz");
    const plainSink = await openFileSink(plain);
    await writeArchive({ config, workDir: join(fx.root, "snapshots") }, plainSink.writable);
    await plainSink.done;
    await verifyArchive(plain, { password });
    assertEquals(asked, 1);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("mod.ts: archives on a file:// backend — upload, list, download, prune", async () => {
  const fx = await makeServerRoot({ rows: 10 });
  const backend = await openBackend(`file://${fx.root}/remote`);
  try {
    const config = await loadServerConfig(fx.serverYaml, fx.root, { secrets: "skip" });
    for (const name of ["a.tar.gz", "b.tar.gz"]) {
      const sink = await openRemoteSink(backend, name);
      await writeArchive({ config, workDir: join(fx.root, "snapshots") }, sink.writable);
      await sink.done;
    }
    const listed = await listRemoteArchives(backend);
    assertEquals(listed.map((a) => a.name).sort(), ["a.tar.gz", "b.tar.gz"]);
    const out = join(fx.root, "snapshots", "a.tar.gz");
    const got = await downloadArchive(backend, listed.find((a) => a.name === "a.tar.gz")!.key, out);
    assertEquals(got.path, out);
    assertEquals((await verifyArchive(out, {})).integrityCheck, "ok");
    const plan = await pruneRemoteArchives(backend, { keep: 1, now: new Date() }, true);
    assertEquals(plan.map((l) => l.action).sort(), ["delete", "keep"]);
    assertEquals((await listRemoteArchives(backend)).length, 2, "a dry run deletes nothing");
    const elsewhere = await openBackend(`file://${fx.root}/remote2`);
    try {
      const sent = await uploadArchive(elsewhere, out);
      assertEquals([sent.key, sent.sha256], ["archives/a.tar.gz", got.sha256]);
      assertEquals((await listRemoteArchives(elsewhere)).map((a) => [a.name, a.sidecar]), [[
        "a.tar.gz",
        true,
      ]]);
    } finally {
      await elsewhere.close();
    }
  } finally {
    await backend.close();
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("mod.ts: replicate a database to file://, list the replica, restore it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-mod-replica-" });
  const db = join(dir, "app.db");
  try {
    await sqliteQuery(
      db,
      "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); " +
        "INSERT INTO t(v) VALUES ('one'), ('two'), ('three');",
    );
    const client = replicaClientFor(await openBackend(`file://${dir}/replica`));
    const replicator = new Replicator({ dbPath: db, client, syncIntervalMs: 100, log: () => {} });
    await replicator.start();
    await replicator.stop();

    const summary = await listReplica(client);
    assertEquals(summary.generations.length, 1);
    assert(summary.latestGeneration !== null);
    const restored = await restoreReplica(client, { outputPath: join(dir, "restored.db") });
    assertEquals(restored.generation, summary.latestGeneration);
    assertEquals(
      await sqliteQuery(join(dir, "restored.db"), "SELECT group_concat(v) FROM t"),
      "one,two,three",
    );

    // The same replica as Litestream's own configuration would name it.
    const root = join(dir, "root");
    await Deno.mkdir(root);
    await Deno.writeTextFile(
      join(root, "server.yaml"),
      `database:\n  driver: sqlite\n  path: ${db}\nbackup:\n  url: file://${dir}/replica\n`,
    );
    const config = await loadServerConfig(join(root, "server.yaml"), root, { secrets: "skip" });
    assert(litestreamConfigFor(config).includes(`${dir}/replica`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mod.ts: LZ4 streams, SQL dumps, configcrates and secrets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-mod-misc-" });
  try {
    const text = new TextEncoder().encode("vigo ".repeat(10_000));
    const lz4 = await bytesOf(ReadableStream.from([text]).pipeThrough(lz4CompressStream()));
    assert(lz4.length < text.length / 10);
    assertEquals(await bytesOf(ReadableStream.from([lz4]).pipeThrough(lz4DecompressStream())), text);
    const bad = await rejection(
      bytesOf(ReadableStream.from([text]).pipeThrough(lz4DecompressStream("x.lz4"))),
    );
    assert(bad instanceof Error && /x\.lz4: invalid LZ4 frame/.test(bad.message), String(bad));

    const db = join(dir, "app.db");
    await sqliteQuery(
      db,
      "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b');",
    );
    const dumped = await writeGzipDump(db, join(dir, "app.sql.gz"));
    assertEquals([dumped.tables, dumped.rows], [1, 2]);
    await restoreDump(join(dir, "app.sql.gz"), join(dir, "back.db"));
    assertEquals(await sqliteQuery(join(dir, "back.db"), "SELECT group_concat(v) FROM t"), "a,b");

    const crateText = `name: lib\nresources:\n  - name: dump\n    type: db_backup\n    source_db: ${db}\n` +
      `    target_path: ${dir}/dumps\n`;
    assertEquals(parseCrate(crateText, join(dir, "c.yaml")).resources.map((r) => r.name), ["dump"]);
    await Deno.writeTextFile(join(dir, "c.yaml"), crateText);
    const crate = await loadCrateFile(join(dir, "c.yaml"));
    const run = await runCrate(crate, { now: new Date(), ignoreSchedule: true, dryRun: false });
    assertEquals(run.errors, []);
    const snapshots = [...Deno.readDirSync(join(dir, "dumps"))].filter((e) => e.isDirectory);
    assertEquals(snapshots.length, 1);
    await Deno.stat(join(dir, "dumps", snapshots[0].name, "app.sql.gz"));
    const badCrate = await rejection(Promise.resolve().then(() => parseCrate("name: x\n", "x.yaml")));
    assert(badCrate instanceof VigoError && badCrate.exitCode === 3, String(badCrate));

    const store = new SecretStore(dir);
    await store.set("vigo/token", new TextEncoder().encode("t0ken"));
    assertEquals(await store.get("vigo/token"), "t0ken");
    assertEquals(await store.list(), ["vigo/token"]);
    const missing = await rejection(store.get("vigo/absent"));
    assert(missing instanceof VigoError && missing.exitCode === 9, String(missing));
    assert(!(missing instanceof VerifyError));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mod.ts: a drill, the status it shows, replication metrics, systemd units, a credentials file", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  try {
    const config = await loadServerConfig(fx.serverYaml, fx.root, { secrets: "skip" });
    const snapshots = join(fx.root, "snapshots");
    const sink = await openFileSink(join(snapshots, "vigo-backup-2026-01-01T00:00:00Z.tar.gz"));
    await writeArchive({ config, workDir: snapshots }, sink.writable);
    await sink.done;

    // The drill restores the archive into scratch and compares it with the live server.
    const drill = await runDrill({ config });
    assertEquals(drill.report.paths.archive.status, "pass");
    assertEquals(drill.report.paths.replica.status, "not_configured");
    // status reads the same report back, and the archive as a recovery path
    const status = await collectStatus(config);
    assertEquals(status.drill?.path, drill.reportPath);
    assert(status.summary.recoverable, JSON.stringify(status.summary));

    const metrics = new ReplicationMetrics({ dbPath: fx.db, replicaName: "file", syncIntervalMs: 1000 });
    const text = renderPrometheus(await metrics.families(drill.report));
    assert(/^litestream_db_size\{db="[^"]+"\} \d+$/m.test(text), text);

    const dir = join(fx.root, "units");
    await Deno.mkdir(dir);
    const units = renderUnits({
      command: ["/usr/local/bin/vigocli"],
      serverYaml: fx.serverYaml,
      serverRoot: fx.root,
      dbDirs: [join(fx.root, "db")],
    });
    await installUnits(units, { dir });
    assert(units.some((u) => u.name === "vigocli-replicate.service"));
    for (const u of units) assertEquals(await Deno.readTextFile(join(dir, u.name)), u.text);

    const creds = parseCredentialsFile("access_key_id: AKIA\nsecret_access_key: s3cr3t\n", "creds.yaml");
    assertEquals([creds.accessKeyId, creds.secretAccessKey], ["AKIA", "s3cr3t"]);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
