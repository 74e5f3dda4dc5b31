/**
 * `backup drill`'s engine on a real deployment (archive, hardlink snapshot + SQL dump, file://
 * replica made by the replicator): passes when healthy without changing a byte or mtime of the live
 * tree, and fails — naming the path — for an old snapshot (max age), a corrupted archive, live rows
 * the replica lacks beyond the RPO limit, and a corrupted replica WAL segment.
 */
import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { writeArchive } from "../../lib/archive/archive_writer.ts";
import { openFileSink } from "../../lib/archive/file_sink.ts";
import { archiveFileName } from "../../lib/archive/archive_names.ts";
import { encryptingStream } from "../../lib/crypto/envelope.ts";
import { passwordSource } from "../../lib/cli/password.ts";
import { runDrill } from "../../lib/drill/run_drill.ts";
import { drillReplica } from "../../lib/drill/replica_drill.ts";
import { Replicator } from "../../lib/replicate/replicator.ts";
import { UsageError } from "../../lib/errors.ts";
import { drillsDirFor, readLatestDrillReport } from "../../lib/drill/drill_report.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { holdExclusive } from "../helpers/exclusive_holder.ts";
import { corrupt, makeDeployment, treeState, walSegments } from "./fixture.ts";

Deno.test("drill: healthy passes untouched; each broken path fails by name", async (t) => {
  const d = await makeDeployment();
  try {
    const cfg = await d.config();
    const drillsDir = drillsDirFor(d.snapshots);
    const drill = (o: { maxAgeMs?: number; maxRpoMs?: number } = {}) =>
      runDrill({ config: cfg, random: () => 0.5, ...o });

    await t.step("healthy: every path passes; live tree unchanged; scratch removed", async () => {
      const before = treeState(d.root);
      const { report, reportPath } = await drill({ maxAgeMs: 3_600_000 });
      assert.deepEqual(treeState(d.root), before);
      assert.equal(report.ok, true, JSON.stringify(report.paths));
      for (const p of Object.values(report.paths)) assert.equal(p.status, "pass", p.message ?? "");
      const { archive, snapshot, replica } = report.paths;
      assert.equal(archive.detail.source, "local");
      assert.deepEqual(archive.detail.tables, [
        { table: "t", restored: 300, live: 300 },
        { table: "u", restored: 2, live: 3 },
      ]);
      assert.equal((archive.detail.files as { changed: number }).changed, 0);
      assert.ok((archive.detail.files as { same: number }).same >= 4);
      const resources = snapshot.detail.resources as Record<string, unknown>[];
      assert.deepEqual(resources.map((r) => r.name), ["stacks-tree", "vigo-db"]);
      assert.equal(resources[1].integrity_check, "ok");
      assert.equal(replica.rpo_seconds, 0, "replica holds every live row");
      const latest = replica.detail.latest as { rows_missing: number };
      assert.equal(latest.rows_missing, 0);
      const earlier = replica.detail.earlier as { timestamp: string; integrity_check: string };
      assert.equal(earlier.integrity_check, "ok");
      for (const p of [archive, snapshot, replica]) assert.ok(p.rto_ms !== null && p.rto_ms > 0);
      assert.ok(archive.rpo_seconds !== null && archive.rpo_seconds < 600);
      assert.equal((await readLatestDrillReport(drillsDir))?.path, reportPath);
      assert.deepEqual(readdirSync(drillsDir).filter((n) => n.startsWith(".")), []);
    });

    await t.step("newest snapshot and archive older than the max age fail", async () => {
      await new Promise((r) => setTimeout(r, 1100)); // one report per second
      const { report } = await drill({ maxAgeMs: 1 });
      assert.equal(report.ok, false);
      assert.equal(report.paths.snapshot.status, "fail");
      assert.match(
        report.paths.snapshot.message!,
        /stacks-tree: newest snapshot .* old, more than the max age 1ms/,
      );
      assert.equal(report.paths.archive.status, "fail");
      assert.equal(report.paths.replica.status, "pass");
    });

    await t.step(
      "no snapshot to restore: the path fails with no RPO or RTO (not 0, which says current)",
      async () => {
        const aside = `${d.base}/hardlinks.aside`;
        renameSync(`${d.base}/hardlinks`, aside);
        mkdirSync(`${d.base}/hardlinks`);
        renameSync(`${d.base}/dumps`, `${d.base}/dumps.aside`);
        mkdirSync(`${d.base}/dumps`);
        // A drill SIGKILLed mid-restore left its scratch (PID 2^22 + 1: beyond pid_max, never running).
        const leftover = join(drillsDir, ".scratch-4194305-Ab3dEf");
        mkdirSync(join(leftover, "db"), { recursive: true });
        writeFileSync(join(leftover, "db", "vigo.db"), "a restored database");
        await new Promise((r) => setTimeout(r, 1100));
        const { report } = await drill();
        rmSync(`${d.base}/hardlinks`, { recursive: true });
        renameSync(aside, `${d.base}/hardlinks`);
        rmSync(`${d.base}/dumps`, { recursive: true });
        renameSync(`${d.base}/dumps.aside`, `${d.base}/dumps`);
        const { snapshot } = report.paths;
        assert.equal(snapshot.status, "fail");
        assert.match(snapshot.message!, /no snapshot yet/);
        assert.deepEqual([snapshot.rpo_seconds, snapshot.rto_ms], [null, null]);
        assert.deepEqual(
          readdirSync(drillsDir).filter((n) => n.startsWith(".")),
          [],
          "the dead drill's scratch is gone",
        );
      },
    );

    await t.step("a corrupted archive fails the archive path", async () => {
      const keep = `${d.base}/archive.keep`;
      copyFileSync(d.archive, keep);
      corrupt(d.archive);
      await new Promise((r) => setTimeout(r, 1100));
      const { report } = await drill();
      copyFileSync(keep, d.archive);
      assert.equal(report.paths.archive.status, "fail");
      assert.match(report.paths.archive.message!, /SHA-256|gzip|corrupt|invalid|does not match/i);
      assert.equal(report.paths.snapshot.status, "pass");
      assert.equal(report.paths.replica.status, "pass");
      assert.equal(report.ok, false);
    });

    await t.step("live rows the replica lacks: pass within --max-rpo, fail beyond it", async () => {
      await sqliteQuery(d.db, "INSERT INTO u VALUES ('after the replicator stopped');");
      await new Promise((r) => setTimeout(r, 1500));
      const lenient = await drill();
      assert.equal(lenient.report.paths.replica.status, "pass");
      assert.ok(lenient.report.paths.replica.rpo_seconds! >= 1);
      await new Promise((r) => setTimeout(r, 1100));
      const { report } = await drill({ maxRpoMs: 1000 });
      assert.equal(report.paths.replica.status, "fail");
      assert.match(report.paths.replica.message!, /1 row\(s\) the replica lacks \(tables u\).*max RPO 1s/);
      // Looked at twice, a sync interval apart: a stopped replicator stays behind.
      assert.ok(report.paths.replica.detail.rechecked, JSON.stringify(report.paths.replica.detail));
      assert.equal(report.ok, false);
    });

    await t.step("no local archive: the newest under backup.url archives/ is downloaded", async () => {
      const remote = join(d.replicaDir, "archives");
      mkdirSync(remote);
      for (const p of [d.archive, `${d.archive}.sha256`]) renameSync(p, join(remote, basename(p)));
      await new Promise((r) => setTimeout(r, 1100));
      const { report } = await drill();
      for (const p of [d.archive, `${d.archive}.sha256`]) renameSync(join(remote, basename(p)), p);
      assert.equal(report.paths.archive.status, "pass", report.paths.archive.message ?? "");
      assert.equal(report.paths.archive.detail.source, "remote");
    });

    await t.step(
      "an encrypted archive is decrypted with --password-file; a wrong password fails",
      async () => {
        const pass = join(d.base, "pass");
        writeFileSync(pass, "drill password\n", { mode: 0o600 });
        const encrypted = join(d.snapshots, archiveFileName(new Date(Date.now() + 60_000)));
        const sink = await openFileSink(encrypted);
        const transform = await encryptingStream("drill password", { argon2id: { m: 1024, t: 1, p: 1 } });
        await writeArchive({ config: cfg, workDir: d.snapshots, transform }, sink.writable);
        await sink.done;
        await new Promise((r) => setTimeout(r, 1100));
        const ok = await runDrill({ config: cfg, password: passwordSource(pass) });
        assert.equal(ok.report.paths.archive.status, "pass", ok.report.paths.archive.message ?? "");
        assert.equal(ok.report.paths.archive.detail.encrypted, true);
        writeFileSync(pass, "wrong\n");
        await new Promise((r) => setTimeout(r, 1100));
        const bad = await runDrill({ config: cfg, password: passwordSource(pass) });
        assert.equal(bad.report.paths.archive.status, "fail");
        rmSync(encrypted);
        rmSync(`${encrypted}.sha256`);
      },
    );

    await t.step("paths that are not set up are not_configured, not failures", async () => {
      const bare = join(d.base, "bare");
      mkdirSync(bare);
      await new Promise((r) => setTimeout(r, 1100));
      const scratchParent = join(d.base, "scratch-parent");
      // --scratch names an existing directory: a mistyped one was made, its whole tree with it.
      const typo = { config: { ...cfg, backup: undefined }, scratchParent: join(scratchParent, "typo/a") };
      await assert.rejects(runDrill(typo), (err: unknown) => {
        assert.ok(err instanceof UsageError, String(err));
        assert.equal(err.message, `--scratch ${typo.scratchParent}: no such directory`);
        return true;
      });
      assert.equal(existsSync(scratchParent), false, "nothing made for a missing --scratch");
      mkdirSync(scratchParent);
      const { report } = await runDrill({
        config: { ...cfg, serverRoot: bare, backup: undefined, paths: { snapshots: join(d.base, "empty") } },
        scratchParent,
      });
      assert.deepEqual(readdirSync(scratchParent), [], "--scratch DIR: its .scratch-* is gone afterwards");
      assert.equal(report.ok, true);
      for (const p of Object.values(report.paths)) assert.equal(p.status, "not_configured");
      assert.match(report.paths.snapshot.message!, /no configcrate/);
      assert.match(report.paths.replica.message!, /no backup\.url/);
    });

    await t.step("a corrupted WAL segment fails the replica path", async () => {
      const segs = walSegments(d.replicaDir);
      assert.ok(segs.length > 0);
      for (const s of segs) corrupt(s);
      await new Promise((r) => setTimeout(r, 1100));
      const { report, reportPath } = await drill();
      assert.equal(report.paths.replica.status, "fail");
      assert.ok(report.paths.replica.message);
      assert.equal(report.paths.replica.rto_ms, null, "nothing restored: no RTO");
      assert.equal(report.paths.archive.status, "pass");
      const onDisk = JSON.parse(readFileSync(reportPath, "utf8"));
      assert.equal(onDisk.ok, false);
      assert.equal(onDisk.paths.replica.status, "fail");
    });
    assert.deepEqual(
      readdirSync(drillsDir).filter((n) => n.startsWith(".")),
      [],
      "no scratch or temp file left",
    );
  } finally {
    d.cleanup();
  }
});

Deno.test("drill: rows the replicator has yet to ship pass once it ships them; the first look is kept", async () => {
  const d = await makeDeployment();
  try {
    const cfg = await d.config();
    // The replica's newest state is older than the max RPO: an idle database, as overnight.
    await new Promise((r) => setTimeout(r, 1500));
    await sqliteQuery(d.db, "INSERT INTO u VALUES ('written as the drill starts');");
    const scratch = Deno.makeTempDirSync({ dir: d.base, prefix: "scratch-" });
    const ctx = {
      config: { ...cfg, backup: { ...cfg.backup!, syncIntervalMs: 1000 } },
      scratch,
      now: new Date(),
      maxRpoMs: 1000,
      lockTimeoutMs: 30_000,
      random: () => 0.5,
    };
    const drilled = drillReplica(ctx);
    // The replicator ships the row after the drill's first look (a restore of a few pages) and before
    // its second, 3 s later (two sync intervals and a second).
    await new Promise((r) => setTimeout(r, 800));
    const r = new Replicator({ dbPath: d.db, backup: cfg.backup, log: () => {} });
    await r.start();
    try {
      const replica = await drilled;
      assert.equal(replica.status, "pass", replica.message ?? "");
      assert.equal(replica.rpo_seconds, 0);
      const rechecked = replica.detail.rechecked as { first_rpo_seconds: number };
      assert.ok(rechecked.first_rpo_seconds > 1, JSON.stringify(replica.detail));
      assert.equal((replica.detail.latest as { rows_missing: number }).rows_missing, 0);
    } finally {
      await r.stop();
    }
  } finally {
    d.cleanup();
  }
});

Deno.test("drill: a live database locked past the wait leaves the paths unchecked ('error'), never failed", async () => {
  const d = await makeDeployment();
  const holder = await holdExclusive(d.db, "INSERT INTO u VALUES ('held')");
  try {
    const { report, lockedOut } = await runDrill({ config: await d.config(), lockTimeoutMs: 300 });
    assert.equal(report.ok, false);
    // The good archive, snapshot and replica were restored and checked; only the comparison could not run.
    for (const name of ["archive", "snapshot", "replica"] as const) {
      const p = report.paths[name];
      assert.equal(p.status, "error", `${name}: ${p.message}`);
      assert.match(
        p.message!,
        /the drill could not run \(the live database it compares with, not the backup\): .*vigo\.db: live database is locked by another process; gave up after 0\.3 s/,
      );
    }
    assert.deepEqual(lockedOut, ["archive", "snapshot", "replica"]);
  } finally {
    await holder.release();
    d.cleanup();
  }
});
