/**
 * Archive benchmark: a generated database (~1 GiB × ctx.scale) plus 10,000 × scale small files under
 * stacks/. Compares, in the same run, `backup create` with `sqlite3 db ".backup x" && tar czf`,
 * `backup restore` with `tar xzf`, `backup inspect` on the big archive with a ~1 MiB one, and
 * reports peak RSS. Each comparison is the best of two alternating runs, with CPU time beside the
 * wall time, because on a shared machine wall time alone mostly measures the neighbours.
 */
import { join } from "node:path";
import { type BenchContext, type BenchRow, sh } from "./bench_lib.ts";

const GIB = 1024 ** 3;
/** Bytes per generated row (approximate on-disk size, payload + overhead). */
const ROW_BYTES = 700;

/** Builds a server root: database of `dbBytes`, `files` small YAML files, secrets, tls, server.yaml. */
export async function makeBenchTree(root: string, dbBytes: number, files: number): Promise<void> {
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

/** Wall time, CPU time (user + system, all threads and children) and peak RSS of one shell command. */
interface Timed {
  seconds: number;
  cpu: number;
  rss: number;
}

async function timed(script: string): Promise<Timed> {
  const start = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S %M", "sh", "-c", script],
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
  if (out.code !== 0) throw new Error(`bench command failed (${out.code}): ${script}\n${lines.join("\n")}`);
  const [u, sy, kib] = lines[lines.length - 1].split(" ").map(Number);
  return { seconds, cpu: u + sy, rss: kib / 1024 };
}

/** Best (lowest wall time) of `reps` runs of each script, alternating so both see the same load. */
async function bestOf(
  reps: number,
  a: () => Promise<Timed>,
  b: () => Promise<Timed>,
): Promise<[Timed, Timed]> {
  let bestA: Timed | undefined;
  let bestB: Timed | undefined;
  for (let i = 0; i < reps; i++) {
    const ra = await a();
    const rb = await b();
    if (!bestA || ra.seconds < bestA.seconds) bestA = ra;
    if (!bestB || rb.seconds < bestB.seconds) bestB = rb;
  }
  return [bestA!, bestB!];
}

/** Runs the comparison. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const scale = ctx.scale;
  const files = Math.max(100, Math.round(10_000 * scale));
  const root = join(ctx.workDir, "srv");
  const small = join(ctx.workDir, "srv-small");
  await makeBenchTree(root, GIB * scale, files);
  await makeBenchTree(small, 1024 * 1024, 20);
  // Same files as the big tree but a 1 MiB database: separates the archive's size from its entry count,
  // which the manifest (and so inspect's output) grows with by design.
  const sameFiles = join(ctx.workDir, "srv-same-files");
  await makeBenchTree(sameFiles, 1024 * 1024, files);
  const vigo = ctx.vigocli.map(sh).join(" ");
  const flags = (r: string) => `--server-root ${sh(r)} --server-yaml ${sh(join(r, "server.yaml"))}`;
  const ours = join(ctx.workDir, "ours.tar.gz");
  const peer = join(ctx.workDir, "peer.tar.gz");
  const peerDb = join(ctx.workDir, "peer-stage", "db");
  await Deno.mkdir(peerDb, { recursive: true });
  const reps = 2;

  const [create, peerCreate] = await bestOf(
    reps,
    () => timed(`rm -f ${sh(ours)} ${sh(ours)}.sha256 && ${vigo} backup create ${flags(root)} ${sh(ours)}`),
    () =>
      timed(
        `rm -f ${sh(peer)} ${sh(join(peerDb, "vigo.db"))} && ` +
          `sqlite3 ${sh(join(root, "db/vigo.db"))} ".backup ${join(peerDb, "vigo.db")}" && ` +
          `tar czf ${sh(peer)} -C ${sh(root)} stacks secrets tls server.yaml -C ${sh(join(peerDb, ".."))} db`,
      ),
  );
  const t1 = join(ctx.workDir, "restore-ours");
  const t2 = join(ctx.workDir, "restore-peer");
  const [restore, peerRestore] = await bestOf(
    reps,
    () => timed(`rm -rf ${sh(t1)} && ${vigo} backup restore ${sh(ours)} --target ${sh(t1)}`),
    () => timed(`rm -rf ${sh(t2)} && mkdir -p ${sh(t2)} && tar xzf ${sh(peer)} -C ${sh(t2)}`),
  );

  const smallArchive = join(ctx.workDir, "small.tar.gz");
  await timed(`${vigo} backup create ${flags(small)} ${sh(smallArchive)}`);
  const sameFilesArchive = join(ctx.workDir, "same-files.tar.gz");
  await timed(`${vigo} backup create ${flags(sameFiles)} ${sh(sameFilesArchive)}`);
  // inspect takes ~0.2 s, mostly process start-up: best of 5 to see through a loaded machine.
  const [inspectBig, inspectSmall] = await bestOf(
    5,
    () => timed(`${vigo} backup inspect ${sh(ours)}`),
    () => timed(`${vigo} backup inspect ${sh(smallArchive)}`),
  );
  const [inspectBigAgain, inspectSameFiles] = await bestOf(
    5,
    () => timed(`${vigo} backup inspect ${sh(ours)}`),
    () => timed(`${vigo} backup inspect ${sh(sameFilesArchive)}`),
  );
  const verify = await timed(`${vigo} backup verify ${sh(ours)}`);

  const oursSize = (await Deno.stat(ours)).size / 1024 ** 2;
  const peerSize = (await Deno.stat(peer)).size / 1024 ** 2;
  const label = `${(scale * 1024).toFixed(0)} MiB DB + ${files} files`;
  const rss = Math.max(create.rss, restore.rss, verify.rss);
  const peerName = 'sqlite3 ".backup" + tar czf';
  return [
    {
      name: `backup create, ${label}`,
      ours: create.seconds,
      peer: peerCreate.seconds,
      peerName,
      unit: "s",
      target: "≤ 1.0× (goal ≤ 0.6×)",
      met: create.seconds <= peerCreate.seconds,
    },
    {
      name: "backup create, CPU time (all threads)",
      ours: create.cpu,
      peer: peerCreate.cpu,
      peerName,
      unit: "s",
    },
    {
      name: `backup restore, ${label}`,
      ours: restore.seconds,
      peer: peerRestore.seconds,
      peerName: "tar xzf",
      unit: "s",
      target: "≤ 1.0×",
      met: restore.seconds <= peerRestore.seconds,
    },
    {
      name: "backup restore, CPU time",
      ours: restore.cpu,
      peer: peerRestore.cpu,
      peerName: "tar xzf",
      unit: "s",
    },
    {
      name: "backup inspect, big archive vs ~1 MiB archive",
      ours: inspectBig.seconds,
      peer: inspectSmall.seconds,
      peerName: "inspect of a ~1 MiB archive",
      unit: "s",
      target: "≤ 1.5×",
      met: inspectBig.seconds <= 1.5 * inspectSmall.seconds,
    },
    {
      name: `backup inspect, big archive vs 1 MiB DB with the same ${files} files`,
      ours: inspectBigAgain.seconds,
      peer: inspectSameFiles.seconds,
      peerName: "inspect, same entries, 1 MiB DB",
      unit: "s",
      target: "≤ 1.5×",
      met: inspectBigAgain.seconds <= 1.5 * inspectSameFiles.seconds,
    },
    { name: `backup verify, ${label}`, ours: verify.seconds, unit: "s" },
    { name: "archive size", ours: oursSize, peer: peerSize, peerName: "tar czf", unit: "MiB" },
    {
      name: "peak RSS (max of create, restore, verify)",
      ours: rss,
      unit: "MiB",
      target: "≤ 200 MiB",
      met: rss <= 200,
    },
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
