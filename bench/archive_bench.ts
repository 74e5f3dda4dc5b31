/**
 * Archive benchmark: a generated database (256 MiB and 1 GiB, × ctx.scale) plus 10,000 × scale small
 * files under stacks/. Compares, in the same run, `backup create` with `sqlite3 .backup` followed by
 * `tar czf`, by `tar | pigz -6` and by `restic backup` into a fresh repository; `backup restore` with
 * `tar xzf` and `pigz -dc | tar x`; `backup inspect` on the big archive with a ~1 MiB one; and peak
 * RSS. One measurement per tool per run, alternating, with CPU time beside the wall time, because on a
 * shared machine wall time alone mostly measures the neighbours; main.ts repeats the runs. Removing the
 * previous output and a `sync` precede every timed command, untimed (bench_lib.ts, prepareRun); restores
 * write to a fresh file system (freshFileSystem).
 */
import { join } from "node:path";
import {
  type BenchContext,
  type BenchRow,
  exists,
  freshFileSystem,
  type Measured,
  measureShell,
  PREFAULT,
  ratioGoal,
  sh,
  SYNC_ONLY,
  valueGoal,
} from "./bench_lib.ts";

/** Bytes per generated row (approximate on-disk size, payload + overhead). */
const ROW_BYTES = 700;

/** Builds a server root: database of `dbBytes`, `files` small YAML files, secrets, tls, server.yaml. */
export async function makeBenchTree(root: string, dbBytes: number, files: number): Promise<void> {
  if (await exists(join(root, "server.yaml"))) return; // made by an earlier run of this ./dev bench
  for (const d of ["db", "stacks", "secrets", "tls"]) await Deno.mkdir(join(root, d), { recursive: true });
  const rows = Math.max(100, Math.round(dbBytes / ROW_BYTES));
  // Semi-compressible rows, like a real fleet database: names, JSON-ish text, hex payloads.
  const sql = `PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
    CREATE TABLE nodes(id INTEGER PRIMARY KEY, name TEXT, facts TEXT, payload TEXT);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows})
    INSERT INTO nodes(name, facts, payload) SELECT 'node-' || i || '.fleet.example.com',
      '{"os":"debian","kernel":"6.1.' || (i % 97) || '","uptime":' || (i * 7919 % 1000003) || ',"role":"web"}',
      hex(randomblob(220)) FROM c;
    CREATE INDEX nodes_name ON nodes(name);`;
  const out = await new Deno.Command("sqlite3", { args: [join(root, "db/vigo.db"), sql], stdout: "null" })
    .output();
  if (!out.success) throw new Error("sqlite3 failed to generate the benchmark database");
  const enc = new TextEncoder();
  for (let i = 0; i < files; i++) {
    const dir = join(root, "stacks", `group-${Math.floor(i / 100)}`);
    if (i % 100 === 0) await Deno.mkdir(dir, { recursive: true });
    const body = `name: role-${i}\npackages: [nginx, openssl, curl]\nvars:\n  port: ${8000 + (i % 1000)}\n` +
      `  checksum: ${crypto.randomUUID()}\n`.repeat(6);
    await Deno.writeFile(join(dir, `role-${i}.yaml`), enc.encode(body));
  }
  await Deno.writeFile(join(root, "secrets/.master.key"), crypto.getRandomValues(new Uint8Array(32)), {
    mode: 0o600,
  });
  await Deno.writeTextFile(
    join(root, "tls/ca.pem"),
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  );
  await Deno.writeTextFile(join(root, "server.yaml"), "database:\n  driver: sqlite\n");
}

/** `script` under GNU time, after `prepare` and a `sync`, untimed (by default only the `sync`). */
function timed(script: string, prepare = SYNC_ONLY): Promise<Measured> {
  return measureShell(script, undefined, prepare);
}

/** Best (lowest wall time) of `reps` runs of each script, alternating so both see the same load. */
async function bestOf(
  reps: number,
  a: () => Promise<Measured>,
  b: () => Promise<Measured>,
): Promise<[Measured, Measured]> {
  let bestA: Measured | undefined;
  let bestB: Measured | undefined;
  for (let i = 0; i < reps; i++) {
    const ra = await a();
    const rb = await b();
    if (!bestA || ra.seconds < bestA.seconds) bestA = ra;
    if (!bestB || rb.seconds < bestB.seconds) bestB = rb;
  }
  return [bestA!, bestB!];
}

/** Runs the comparison at both database sizes, then inspect, verify, size and RSS on the larger. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const files = Math.max(100, Math.round(10_000 * ctx.scale));
  const rows: BenchRow[] = [];
  let big: Sized | undefined;
  for (const mib of [256, 1024]) {
    big = await createAndRestore(ctx, mib * 1024 * 1024 * ctx.scale, files);
    rows.push(...big.rows);
  }
  rows.push(...await inspectRows(ctx, big!, files));
  return rows;
}

interface Sized {
  root: string;
  ours: string;
  peer: string;
  label: string;
  rss: number;
  rows: BenchRow[];
}

async function createAndRestore(ctx: BenchContext, dbBytes: number, files: number): Promise<Sized> {
  const label = `${(dbBytes / 1024 ** 2).toFixed(0)} MiB DB + ${files} files`;
  const tag = (dbBytes / 1024 ** 2).toFixed(0);
  const root = join(ctx.workDir, `srv-${tag}`);
  await makeBenchTree(root, dbBytes, files);
  const vigo = ctx.vigocli.map(sh).join(" ");
  const flags = (r: string) => `--server-root ${sh(r)} --server-yaml ${sh(join(r, "server.yaml"))}`;
  const ours = join(ctx.workDir, `ours-${tag}.tar.gz`);
  const peer = join(ctx.workDir, `peer-${tag}.tar.gz`);
  const peerDb = join(ctx.workDir, `peer-stage-${tag}`, "db");
  await Deno.mkdir(peerDb, { recursive: true });
  const snapshot = `rm -f ${sh(join(peerDb, "vigo.db"))} && ` +
    `sqlite3 ${sh(join(root, "db/vigo.db"))} ".backup ${join(peerDb, "vigo.db")}"`;
  const tree = `-C ${sh(root)} stacks secrets tls server.yaml -C ${sh(join(peerDb, ".."))} db`;
  const create = await timed(
    `${vigo} backup create ${flags(root)} ${sh(ours)}`,
    `rm -f ${sh(ours)} ${sh(ours)}.sha256`,
  );
  const gzip = await timed(`${snapshot} && tar czf ${sh(peer)} ${tree}`, `rm -f ${sh(peer)}`);
  const pigz = await timed(
    `${snapshot} && tar cf - ${tree} | pigz -6 > ${sh(peer)}.pigz`,
    `rm -f ${sh(peer)}.pigz`,
  );
  // restic's first run: a fresh repository and cache each time (init itself is not timed).
  const repo = join(ctx.workDir, `restic-${tag}`);
  const resticEnv = `RESTIC_PASSWORD=bench RESTIC_REPOSITORY=${sh(repo)} RESTIC_CACHE_DIR=${
    sh(`${repo}-cache`)
  }`;
  await timed(`rm -rf ${sh(repo)} ${sh(`${repo}-cache`)} && ${resticEnv} restic init --quiet`);
  const restic = await timed(
    `${snapshot} && cd ${sh(root)} && ${resticEnv} restic backup --quiet stacks secrets tls server.yaml ` +
      sh(peerDb),
  );
  // Every restore writes into a new directory of a fresh file system, and nothing is removed there
  // until all three are done (freshFileSystem says why).
  const fs = await freshFileSystem(ctx.workDir, `restores-${tag}`, 5 * dbBytes + 2 * 1024 ** 3);
  if ((ctx.run ?? 0) === 0) console.error(`bench: archive restores write to ${fs.kind}`);
  let restore: Measured, untar: Measured, unpigz: Measured, unpigzSync: Measured;
  try {
    const [t1, t2, t3, t4] = ["ours", "tar", "pigz", "pigz-sync"].map((n) => join(fs.dir, n));
    // Each restore starts with the memory it will fill backed by the VM (bench_lib.ts, PREFAULT).
    restore = await timed(`${vigo} backup restore ${sh(ours)} --target ${sh(t1)}`, PREFAULT);
    untar = await timed(`tar xzf ${sh(peer)} -C ${sh(t2)}`, `mkdir ${sh(t2)} && ${PREFAULT}`);
    const unpigzInto = (dir: string) => `pigz -dc ${sh(peer)}.pigz | tar xf - -C ${sh(dir)}`;
    unpigz = await timed(unpigzInto(t3), `mkdir ${sh(t3)} && ${PREFAULT}`);
    // The peers leave their writes in the page cache; ours ends durable (syncfs). Same work, for context:
    unpigzSync = await timed(`${unpigzInto(t4)} && sync`, `mkdir ${sh(t4)} && ${PREFAULT}`);
  } finally {
    await fs.close();
  }
  const row = (name: string, a: Measured, b: Measured, peerName: string, goal?: number): BenchRow => ({
    name,
    ours: a.seconds,
    peer: b.seconds,
    peerName,
    unit: "s",
    ...(goal === undefined ? {} : ratioGoal(goal)),
  });
  const cpu = (name: string, a: Measured, b: Measured, peerName: string): BenchRow => ({
    name: `${name}, CPU time (all threads)`,
    ours: a.cpuSeconds,
    peer: b.cpuSeconds,
    peerName,
    unit: "s",
  });
  return {
    root,
    ours,
    peer,
    label,
    rss: Math.max(create.peakRssMiB, restore.peakRssMiB),
    rows: [
      row(`backup create, ${label}`, create, pigz, "sqlite3 .backup + tar | pigz -6", 0.8),
      row(`backup create, ${label}`, create, restic, "sqlite3 .backup + restic backup (first run)", 0.9),
      row(`backup create, ${label}`, create, gzip, "sqlite3 .backup + tar czf", 1.0),
      cpu(`backup create, ${label}`, create, pigz, "tar | pigz -6"),
      row(`backup restore, ${label}`, restore, untar, "tar xzf", 0.7),
      row(`backup restore, ${label}`, restore, unpigz, "pigz -dc | tar x", 1.0),
      row(`backup restore, ${label}`, restore, unpigzSync, "pigz -dc | tar x && sync (durable, as ours)"),
      cpu(`backup restore, ${label}`, restore, unpigz, "pigz -dc | tar x"),
    ],
  };
}

async function inspectRows(ctx: BenchContext, big: Sized, files: number): Promise<BenchRow[]> {
  const small = join(ctx.workDir, "srv-small");
  await makeBenchTree(small, 1024 * 1024, 20);
  // Same files as the big tree but a 1 MiB database: separates the archive's size from its entry count,
  // which the manifest (and so inspect's output) grows with by design.
  const sameFiles = join(ctx.workDir, "srv-same-files");
  await makeBenchTree(sameFiles, 1024 * 1024, files);
  const vigo = ctx.vigocli.map(sh).join(" ");
  const flags = (r: string) => `--server-root ${sh(r)} --server-yaml ${sh(join(r, "server.yaml"))}`;
  const smallArchive = join(ctx.workDir, "small.tar.gz");
  const sameFilesArchive = join(ctx.workDir, "same-files.tar.gz");
  for (const [tree, archive] of [[small, smallArchive], [sameFiles, sameFilesArchive]]) {
    if (!await exists(archive)) await timed(`${vigo} backup create ${flags(tree)} ${sh(archive)}`);
  }
  // inspect takes ~0.2 s, mostly process start-up: best of 5 to see through a loaded machine.
  const [inspectBig, inspectSmall] = await bestOf(
    5,
    () => timed(`${vigo} backup inspect ${sh(big.ours)}`),
    () => timed(`${vigo} backup inspect ${sh(smallArchive)}`),
  );
  const [inspectBigAgain, inspectSameFiles] = await bestOf(
    5,
    () => timed(`${vigo} backup inspect ${sh(big.ours)}`),
    () => timed(`${vigo} backup inspect ${sh(sameFilesArchive)}`),
  );
  const verify = await timed(`${vigo} backup verify ${sh(big.ours)}`);
  const rss = Math.max(big.rss, verify.peakRssMiB);
  return [
    {
      name: "backup inspect, big archive vs ~1 MiB archive",
      ours: inspectBig.seconds,
      peer: inspectSmall.seconds,
      peerName: "inspect of a ~1 MiB archive",
      unit: "s",
      target: "≤ 1.5×",
      goal: { ratio: 1.5 },
    },
    {
      name: `backup inspect, big archive vs 1 MiB DB with the same ${files} files`,
      ours: inspectBigAgain.seconds,
      peer: inspectSameFiles.seconds,
      peerName: "inspect, same entries, 1 MiB DB",
      unit: "s",
      target: "≤ 1.5×",
      goal: { ratio: 1.5 },
    },
    { name: `backup verify, ${big.label}`, ours: verify.seconds, unit: "s" },
    {
      name: "archive size",
      ours: (await Deno.stat(big.ours)).size / 1024 ** 2,
      peer: (await Deno.stat(`${big.peer}.pigz`)).size / 1024 ** 2,
      peerName: "tar | pigz -6",
      unit: "MiB",
    },
    { name: "peak RSS (max of create, restore, verify)", ours: rss, unit: "MiB", ...valueGoal(200, "MiB") },
  ];
}

if (import.meta.main) {
  const scale = Number(Deno.args[0] ?? "0.1");
  const workDir = await Deno.makeTempDir({ prefix: "vigo-archive-bench-" });
  try {
    const rows = await run({
      workDir,
      scale,
      vigocli: [Deno.execPath(), "run", "-A", "--quiet", new URL("../main.ts", import.meta.url).pathname],
    });
    for (const r of rows) {
      const ratio = r.peer
        ? ` ratio ${(r.ours / r.peer).toFixed(2)}× vs ${r.peerName} (${r.peer.toFixed(2)} ${r.unit})`
        : "";
      console.log(
        `${r.name}: ${r.ours.toFixed(2)} ${r.unit}${ratio} ${r.target ?? ""} ${
          r.met === undefined ? "" : r.met ? "met" : "NOT MET"
        }`,
      );
    }
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
}
