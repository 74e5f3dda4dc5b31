/**
 * A server with all three recovery paths for the status tests: a database replicated to a file://
 * replica (real `backup replicate`, stopped with SIGTERM), one archive (`backup create`), a configcrate
 * with a hardlink-snapshot resource that ran and a db_backup resource whose run failed, and a drill
 * report.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb } from "../helpers/litestream.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { makeRoot, startReplicate, type TestRoot } from "../replicate/replicate_env.ts";
import { writeDrillReport } from "../../lib/drill/drill_report.ts";
import { drillReport } from "../metrics/drill_fixture.ts";

/** The server and the names status must show. */
export interface StatusServer extends TestRoot {
  drills: string;
  archive: string;
  snapshot: string;
  generation: string;
}

/** Builds the server (about 5 s: one replicate run, one archive, one crate run). */
export async function makeStatusServer(): Promise<StatusServer> {
  const r = await makeRoot();
  await createWriterDb(r.db);
  await sqliteQuery(r.db, "INSERT INTO t (ts, payload) VALUES (1, x'00'), (2, x'01');");
  const repl = await startReplicate(r);
  assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
  const generation = /generation=([0-9a-f]{16})/.exec(repl.output())![1];

  // The replication root has no secrets/: an archive without the master key is asked for explicitly.
  const created = await runCli([
    "backup",
    "create",
    "--server-root",
    r.root,
    "--allow-missing-master-key",
    "--json",
  ]);
  assertEquals(created.code, 0, created.stderr);
  const archive = (JSON.parse(created.stdout).path as string).split("/").at(-1)!;

  await Deno.mkdir(`${r.root}/data`);
  await Deno.writeTextFile(`${r.root}/data/a.txt`, "hello\n");
  await Deno.mkdir(`${r.root}/dumps`);
  await Deno.mkdir(`${r.root}/stacks/configcrates/app`, { recursive: true });
  const crate = `${r.root}/stacks/configcrates/app/nightly.yaml`;
  await Deno.writeTextFile(
    crate,
    [
      "name: app",
      "resources:",
      "  - name: files",
      "    type: backup",
      `    source_dir: ${r.root}/data`,
      `    target_path: ${r.root}/snaps`,
      "    min_free_space: 1M",
      "  - name: appdb",
      "    type: db_backup",
      "    db_type: sqlite",
      `    source_db: ${r.root}/missing.db`,
      `    target_path: ${r.root}/dumps`,
      "    min_free_space: 1M",
    ].join("\n") + "\n",
  );
  const ran = await runCli(["crate", "run", crate, "--json"], {
    env: { VIGO_NOW: new Date().toISOString() },
  });
  assertEquals(ran.code !== 0, true, "the db_backup resource fails (its database is missing)");
  const snapshot = (await Array.fromAsync(Deno.readDir(`${r.root}/snaps`))).map((e) => e.name)
    .find((n) => /^\d{4}\.\d{3}\.\d{2}\.\d{2}$/.test(n))!;

  const drills = `${r.root}/snapshots/drills`;
  await writeDrillReport(drills, drillReport(120_000, true));
  return { ...r, drills, archive, snapshot, generation };
}
