/**
 * `vigocli backup install-units`: every unit passes `systemd-analyze verify` (with a stand-in
 * vigosrv.service), a second install changes nothing, a hand-edited unit is refused (exit 10) unless
 * --force, --dry-run writes nothing, TimeoutStopSec leaves room for backup.shutdown_timeout; and the
 * replication unit's ExecStart, run as systemd would and stopped with SIGTERM, leaves every committed
 * row in the replica. With database.path a symbolic link, the replicator runs inside the unit's
 * ProtectSystem=strict + ReadWritePaths= view of the files (rebuilt with bind mounts, which needs
 * root: skipped otherwise, saying so).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import {
  background,
  createWriterDb,
  litestreamRestore,
  sleep,
  startSqliteWriter,
} from "../helpers/litestream.ts";
import { assertRows, makeRoot, type TestRoot } from "../replicate/replicate_env.ts";

const UNITS = [
  "vigocli-replicate.service",
  "vigocli-crate@.service",
  "vigocli-crate@.timer",
  "vigocli-drill.service",
  "vigocli-drill.timer",
];

async function install(r: TestRoot, dir: string, ...extra: string[]) {
  return await runCli(["backup", "install-units", "--server-root", r.root, "--dir", dir, "--json", ...extra]);
}

/** Splits an ExecStart= value the way systemd does for the words our templates produce. */
function execWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]);
  }
  return words.map((w) => w.replaceAll("%%", "%").replaceAll("$$", "$"));
}

/**
 * `cmd ARGS…` as the replicate unit confines it, for the files under `root`: a private mount namespace
 * where `root` is read-only (ProtectSystem=strict) except the unit's ReadWritePaths= (a `-` path that
 * does not exist is skipped, as systemd skips it).
 */
function sandboxed(unit: string, root: string, cmd: string[]): [string, string[]] {
  const rw = /^ReadWritePaths=(.*)$/m.exec(unit)![1].split(" ");
  const q = (p: string) => `'${p}'`;
  const script = [
    "set -e",
    `mount --bind ${q(root)} ${q(root)}`,
    `mount -o remount,bind,ro ${q(root)}`,
    ...rw.map((w) => {
      const p = w.replace(/^-/, "");
      const bind = `mount --bind ${q(p)} ${q(p)} && mount -o remount,bind,rw ${q(p)}`;
      return w.startsWith("-") ? `if [ -e ${q(p)} ]; then ${bind}; fi` : bind;
    }),
    'exec "$@"',
  ].join("\n");
  return ["unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", ...cmd]];
}

/** A stand-in `vigosrv.service` in `stub`, which the replicate unit binds to. */
async function writeServerStandIn(stub: string): Promise<void> {
  await Deno.mkdir(stub);
  await Deno.writeTextFile(
    `${stub}/vigosrv.service`,
    "[Unit]\nDescription=stand-in server\n[Service]\nExecStart=/bin/sleep infinity\n",
  );
}

/** `systemd-analyze verify` accepts `units` (in `dir`, with the stand-ins in `stub`) without a warning. */
async function assertVerifies(stub: string, dir: string, units: string[]): Promise<void> {
  const verify = await new Deno.Command("systemd-analyze", {
    args: ["verify", ...units],
    env: { SYSTEMD_UNIT_PATH: `${stub}:${dir}:` },
  }).output();
  const verr = new TextDecoder().decode(verify.stderr);
  assertEquals(verify.code, 0, verr);
  assertEquals(verr.trim(), "", "systemd-analyze verify prints no warning");
}

async function snapshotDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) out[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  return out;
}

Deno.test("install-units: units verify; reinstall idempotent; edits refused without --force", async () => {
  const r = await makeRoot();
  const dir = `${r.root}/units`;
  const stub = `${r.root}/stub`;
  try {
    await Deno.mkdir(dir);
    await writeServerStandIn(stub);
    const first = await install(r, dir);
    assertEquals(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    assertEquals(report.units.map((u: { name: string }) => u.name), UNITS);
    assert(report.units.every((u: { action: string }) => u.action === "created"), first.stdout);

    // An instance per configcrate file, named as `systemd-escape --path` names it.
    await Deno.copyFile(`${dir}/vigocli-crate@.service`, `${dir}/vigocli-crate@srv-vigo-c.yaml.service`);
    await Deno.copyFile(`${dir}/vigocli-crate@.timer`, `${dir}/vigocli-crate@srv-vigo-c.yaml.timer`);
    const targets = [...UNITS.filter((u) => !u.includes("@")), "vigocli-crate@srv-vigo-c.yaml.service"]
      .concat("vigocli-crate@srv-vigo-c.yaml.timer").map((u) => `${dir}/${u}`);
    await assertVerifies(stub, dir, targets);
    await Deno.remove(`${dir}/vigocli-crate@srv-vigo-c.yaml.service`);
    await Deno.remove(`${dir}/vigocli-crate@srv-vigo-c.yaml.timer`);

    const svc = await Deno.readTextFile(`${dir}/vigocli-replicate.service`);
    for (
      const want of [
        "BindsTo=vigosrv.service",
        "WantedBy=vigosrv.service",
        "ProtectSystem=strict",
        `ReadWritePaths=${r.root}/db -${r.replicaDir}`,
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "TimeoutStopSec=90s",
      ]
    ) assert(svc.includes(`\n${want}\n`), `replicate unit has ${want}:\n${svc}`);

    const again = await install(r, dir);
    assertEquals(again.code, 0, again.stderr);
    assert(JSON.parse(again.stdout).units.every((u: { action: string }) => u.action === "unchanged"));

    const edited = `${dir}/vigocli-drill.timer`;
    await Deno.writeTextFile(edited, (await Deno.readTextFile(edited)).replace("Sun", "Mon"));
    const before = await snapshotDir(dir);
    const refused = await install(r, dir);
    assertEquals(refused.code, 10, refused.stderr);
    assert(refused.stderr.includes(edited) && refused.stderr.trim().split("\n").length === 1, refused.stderr);
    assertEquals(await snapshotDir(dir), before, "a refusal writes nothing");

    const dry = await install(r, dir, "--force", "--dry-run");
    assertEquals(dry.code, 0, dry.stderr);
    assertEquals(JSON.parse(dry.stdout).units[4].action, "replaced");
    assertEquals(await snapshotDir(dir), before, "--dry-run writes nothing");

    const forced = await install(r, dir, "--force");
    assertEquals(forced.code, 0, forced.stderr);
    assert((await Deno.readTextFile(edited)).includes("Sun"), "--force restored the shipped timer");
    assertEquals(Object.keys(await snapshotDir(dir)).sort(), [...UNITS].sort(), "no temp files left");
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("install-units: two installs into one directory take turns, never leave a mix", async () => {
  const r = await makeRoot();
  const dir = `${r.root}/units`;
  const lock = `${dir}.vigocli-install-units.lock`;
  try {
    await Deno.mkdir(dir);
    // flock(1) takes the kernel lock an install takes; its child writes its PID in, as an install does.
    const holder = new Deno.Command("flock", {
      args: ["-n", lock, "sh", "-c", `echo $$ > '${lock}'; exec sleep 60`],
    }).spawn();
    let pid = "";
    try {
      for (let i = 0; i < 500 && !/^\d+\n$/.test(pid); i++) {
        await sleep(10);
        pid = await Deno.readTextFile(lock).catch(() => "");
      }
      const busy = await install(r, dir);
      assertEquals(busy.code, 5, busy.stderr);
      assert(busy.stderr.includes(`PID ${pid.trim()}`), busy.stderr);
      assertEquals(await snapshotDir(dir), {}, "a busy install writes nothing");
    } finally {
      if (pid) process.kill(Number(pid), "SIGKILL");
      await holder.status;
    }
    // Unlocked, two installs with different executables started together: one installs all five
    // units, the other is refused (busy, or the units differ), so no unit runs the other executable.
    for (let round = 0; round < 3; round++) {
      await Deno.remove(dir, { recursive: true });
      await Deno.mkdir(dir);
      const [a, b] = await Promise.all(
        ["/opt/a/vigocli", "/opt/b/vigocli"].map((bin) => install(r, dir, "--bin", bin)),
      );
      const ok = [a, b].filter((x) => x.code === 0);
      assertEquals(ok.length, 1, `round ${round}: exit ${a.code} and ${b.code}\n${a.stderr}${b.stderr}`);
      const bins = new Set(
        Object.values(await snapshotDir(dir)).flatMap((t) =>
          [...t.matchAll(/\/opt\/(a|b)\/vigocli/g)].map((m) => m[1])
        ),
      );
      assertEquals(bins.size, 1, `round ${round}: units from both installs`);
    }
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("install-units into a directory whose parent is missing: exit 9 naming that directory", async () => {
  const r = await makeRoot();
  try {
    const dir = `${r.root}/no/such/units`;
    const res = await install(r, dir);
    assertEquals(res.code, 9, res.stderr);
    // Not the lock file beside it ("…/units.vigocli-install-units.lock: no such file or directory").
    assertEquals(
      res.stderr,
      `vigocli: ${dir}: no such directory (to write vigocli-replicate.service into)\n`,
    );
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("install-units --dry-run into a missing directory fails as the install does: exit 9", async () => {
  const r = await makeRoot();
  try {
    const dir = `${r.root}/missing`;
    const real = await install(r, dir);
    const dry = await install(r, dir, "--dry-run");
    // Before, the dry run said every unit "would be created" and exited 0.
    assertEquals([dry.code, dry.stderr], [
      9,
      `vigocli: ${dir}: no such directory (to write vigocli-replicate.service into)\n`,
    ]);
    assertEquals([real.code, real.stderr], [dry.code, dry.stderr]);
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("install-units: the replicate unit's ExecStart, stopped with SIGTERM, flushes every row", async () => {
  const r = await makeRoot({ syncInterval: "10s" });
  const dir = `${r.root}/units`;
  const writer = startSqliteWriter(r.db, { txPerSecond: 200 });
  let repl: ReturnType<typeof background> | undefined;
  try {
    await Deno.mkdir(dir);
    assertEquals((await install(r, dir)).code, 0);
    const unit = await Deno.readTextFile(`${dir}/vigocli-replicate.service`);
    const line = /^ExecStart=(.*)$/m.exec(unit)![1];
    const runner = (Deno.env.get("VIGOCLI_RUNNER") ?? "").split(" ").filter(Boolean);
    const [cmd, ...args] = [...runner, ...execWords(line)];
    await writer.waitFor(/committed 1 /);
    repl = background(cmd, args);
    await repl.waitFor(/replication started/, 120_000);
    await sleep(1500);
    assertEquals(await writer.stop(), 0);
    // The sync interval is 10 s: the rows written since the first sync reach the replica only
    // through the flush that SIGTERM triggers.
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
    const ids = writer.committed().map((c) => c.id);
    assert(ids.length > 100, `writer committed ${ids.length} rows`);
    const out = `${r.root}/restored.db`;
    const res = await litestreamRestore({ out, url: r.url });
    assertEquals(res.code, 0, res.stderr);
    await assertRows(out, ids, "litestream restore after SIGTERM");
  } finally {
    await repl?.kill();
    await writer.kill();
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("install-units: TimeoutStopSec leaves the replicator its backup.shutdown_timeout and more", async () => {
  const r = await makeRoot({ extraBackup: ['shutdown_timeout: "5m"'] });
  const dir = `${r.root}/units`;
  const stub = `${r.root}/stub`;
  try {
    await Deno.mkdir(dir);
    await writeServerStandIn(stub);
    const res = await install(r, dir);
    assertEquals(res.code, 0, res.stderr);
    const unit = `${dir}/vigocli-replicate.service`;
    await assertVerifies(stub, dir, [unit]);
    // Before, always 90s: systemd SIGKILLed a flush that server.yaml allowed 5 minutes.
    const stop = /^TimeoutStopSec=(\d+)s$/m.exec(await Deno.readTextFile(unit));
    assert(stop && Number(stop[1]) > 300, `TimeoutStopSec above shutdown_timeout 5m: ${stop?.[0]}`);
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("install_units_cli_test: sandbox test skipped, bind mounts need root");

Deno.test({
  name: "install-units: a symbolic-link database.path: the replicator runs inside the unit's read-only view",
  ignore: !isRoot,
  async fn() {
    const r = await makeRoot({ syncInterval: "300ms" });
    const dir = `${r.root}/units`;
    const real = `${r.root}/real/vigo.db`;
    let repl: ReturnType<typeof background> | undefined;
    try {
      await Deno.mkdir(dir);
      await Deno.mkdir(`${r.root}/real`);
      await Deno.mkdir(r.replicaDir);
      await createWriterDb(real);
      Deno.symlinkSync(real, r.db);
      assertEquals((await install(r, dir)).code, 0);
      const unit = await Deno.readTextFile(`${dir}/vigocli-replicate.service`);
      const line = /^ExecStart=(.*)$/m.exec(unit)![1];
      const runner = (Deno.env.get("VIGOCLI_RUNNER") ?? "").split(" ").filter(Boolean);
      const [cmd, args] = sandboxed(unit, r.root, [...runner, ...execWords(line)]);
      repl = background(cmd, args);
      // Before the fix only the link's directory was writable: the lock beside the real file failed
      // with "read-only file system" (exit 11), and systemd restarted the unit forever.
      await repl.waitFor(/replication started/, 120_000);
      const w = startSqliteWriter(r.db, { txPerSecond: 200, maxTx: 50 });
      assertEquals((await w.child.status).code, 0);
      await w.stop();
      assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
      const out = `${r.root}/restored.db`;
      const res = await litestreamRestore({ out, url: r.url });
      assertEquals(res.code, 0, res.stderr);
      await assertRows(out, w.committed().map((c) => c.id), "restore of the database behind the link");
    } finally {
      await repl?.kill();
      await Deno.remove(r.root, { recursive: true });
    }
  },
});
