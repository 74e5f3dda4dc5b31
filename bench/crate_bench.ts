/**
 * Benchmarks of the crate executors against what users would otherwise run:
 *  - an incremental hardlink snapshot of 50,000 files (× scale) with 1% changed, vs
 *    `rsync -a --link-dest` and rsnapshot (which drives rsync --link-dest itself);
 *  - a deterministic gzip dump of a 1 GiB (× scale) SQLite database, vs `sqlite3 db .dump | gzip -n`.
 * Run alone: `deno run -A bench/crate_bench.ts [scale]`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type BenchContext, type BenchRow, measureShell, sh } from "./bench_lib.ts";

const DAY1 = "2026-03-13T02:00:00Z";
const DAY2 = "2026-03-14T02:00:00Z";

/** Runs both comparisons. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(ctx.workDir, "crate-bench-"));
  try {
    return [...(await snapshotRows(ctx, dir)), ...(await dumpRows(ctx, dir))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function vigocli(ctx: BenchContext, args: string[]): string {
  return [...ctx.vigocli, ...args].map(sh).join(" ");
}

function ratioRow(name: string, ours: number, peer: number, peerName: string): BenchRow {
  return { name, ours, peer, peerName, unit: "s", target: "≤ 1.0×", met: ours <= peer };
}

async function snapshotRows(ctx: BenchContext, dir: string): Promise<BenchRow[]> {
  const files = Math.max(200, Math.round(50_000 * ctx.scale));
  const src = join(dir, "src");
  for (let i = 0; i < files; i++) {
    const d = join(src, `d${i % 100}`, `e${i % 7}`);
    if (i < 700) mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.txt`), `file ${i} `.repeat(50 + (i % 400)));
  }
  const ours = join(dir, "ours"), viaRsync = join(dir, "rsync"), snapRoot = join(dir, "rsnapshot");
  const crate = join(dir, "files.yaml");
  writeFileSync(
    crate,
    `name: bench\nresources:\n  - name: files\n    type: backup\n    source_dir: ${src}\n    target_path: ${ours}\n` +
      `    min_free_space: 1M\n`,
  );
  const rsnapConf = join(dir, "rsnapshot.conf");
  writeFileSync(
    rsnapConf,
    [
      "config_version\t1.2",
      `snapshot_root\t${snapRoot}/`,
      "cmd_rsync\t/usr/bin/rsync",
      "link_dest\t1",
      "retain\tdaily\t30",
      `lockfile\t${dir}/rsnapshot.pid`,
      `backup\t${src}/\tlocalhost/`,
      "",
    ].join("\n"),
  );
  mkdirSync(viaRsync);
  // first (full) snapshots, not timed
  await measureShell(vigocli(ctx, ["crate", "run", crate]), { VIGO_NOW: DAY1 });
  await measureShell(`rsync -a ${sh(src + "/")} ${sh(viaRsync + "/1")}`);
  const haveRsnapshot = hasCommand("rsnapshot");
  if (haveRsnapshot) await measureShell(`rsnapshot -c ${sh(rsnapConf)} daily`);
  // change 1% of the files: new content and mtime
  const later = new Date("2026-03-13T12:00:00Z");
  for (let i = 0; i < files; i += 100) {
    const p = join(src, `d${i % 100}`, `e${i % 7}`, `f${i}.txt`);
    writeFileSync(p, `changed ${i} `.repeat(60));
    utimesSync(p, later, later);
  }
  const oursT = await measureShell(vigocli(ctx, ["crate", "run", crate]), { VIGO_NOW: DAY2 });
  const rsyncT = await measureShell(
    `rsync -a --link-dest=${sh(viaRsync + "/1")} ${sh(src + "/")} ${sh(viaRsync + "/2")}`,
  );
  const label = `incremental snapshot, ${files} files, 1% changed`;
  const rows = [ratioRow(label, oursT.seconds, rsyncT.seconds, "rsync -a --link-dest")];
  if (haveRsnapshot) {
    const rsnapT = await measureShell(`rsnapshot -c ${sh(rsnapConf)} daily`);
    rows.push(ratioRow(label, oursT.seconds, rsnapT.seconds, "rsnapshot (link_dest)"));
  }
  return rows;
}

async function dumpRows(ctx: BenchContext, dir: string): Promise<BenchRow[]> {
  // ~150 bytes of table + index per row: 7.2M rows ≈ 1 GiB at scale 1
  const rows = Math.max(2000, Math.round(7_200_000 * ctx.scale));
  const db = join(dir, "vigo.db");
  execFileSync("sqlite3", [
    db,
    `PRAGMA journal_mode=WAL; CREATE TABLE events(id INTEGER PRIMARY KEY, host TEXT, kind TEXT, ts REAL, payload BLOB, n INTEGER, note TEXT);
     WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows})
     INSERT INTO events SELECT i, 'host-'||(i%500)||'.example.com', 'kind'||(i%17), 1700000000.0 + i*0.37,
       randomblob(40), i*7919 % 100003, 'note about '||i||' it''s fine' FROM c;
     CREATE INDEX events_host ON events(host);`,
  ]);
  const crate = join(dir, "db.yaml");
  writeFileSync(
    crate,
    `name: bench\nresources:\n  - name: db\n    type: db_backup\n    source_db: ${db}\n    target_path: ${
      join(dir, "dumps")
    }\n` +
      `    min_free_space: 1M\n`,
  );
  const mib = Number(execFileSync("stat", ["-c", "%s", db], { encoding: "utf8" })) / 2 ** 20;
  const oursT = await measureShell(vigocli(ctx, ["crate", "run", crate]), { VIGO_NOW: DAY1 });
  const peerT = await measureShell(`sqlite3 ${sh(db)} .dump | gzip -n > ${sh(join(dir, "peer.sql.gz"))}`);
  return [
    ratioRow(
      `dump ${mib.toFixed(0)} MiB SQLite DB (gzip)`,
      oursT.seconds,
      peerT.seconds,
      "sqlite3 .dump | gzip -n",
    ),
  ];
}

function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const scale = Number(process.argv[2] ?? "0.1");
  const workDir = mkdtempSync("/tmp/crate-bench-");
  const repo = new URL("../", import.meta.url).pathname;
  try {
    const rows = await run({
      workDir,
      scale,
      vigocli: [process.execPath, "run", "-A", "--quiet", `${repo}main.ts`],
    });
    for (const r of rows) {
      console.log(
        `${r.name}: ours ${r.ours.toFixed(2)} ${r.unit}, ${r.peerName} ${r.peer!.toFixed(2)} ${r.unit}, ` +
          `ratio ${(r.ours / r.peer!).toFixed(2)}× (target ${r.target}) ${r.met ? "met" : "NOT met"}`,
      );
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
