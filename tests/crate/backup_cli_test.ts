/**
 * The `backup` executor through the CLI: hardlink dedup (du and inodes), changed files, metadata,
 * excludes, dry run, schedule windows and retention under VIGO_NOW, hooks and free space.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { backupCrate, crateRun, ino, scratch, show, snapshots, writeTree } from "./fixture.ts";
import { runCli } from "../helpers/cli.ts";

const DAY1 = "2026-03-13T02:00:00Z";
const DAY2 = "2026-03-14T02:00:00Z";
const DAY3 = "2026-03-15T02:00:00Z";

function duKiB(...paths: string[]): number[] {
  // one du invocation counts each inode once, in argument order: later snapshots show what they add
  return execFileSync("du", ["-sk", ...paths], { encoding: "utf8" }).trim().split("\n").map((l) =>
    Number(l.split("\t")[0])
  );
}

function bigTree(src: string, n: number): void {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`d${i % 10}/f${i}.dat`] = `file ${i}\n`.repeat(2000);
  writeTree(src, files);
}

Deno.test("an unchanged tree adds ~0 bytes and shares inodes; a changed file gets a new inode", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    bigTree(src, 200);
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target);
    let r = await crateRun(crate, DAY1);
    assert.equal(r.code, 0, show(r));
    r = await crateRun(crate, DAY2);
    assert.equal(r.code, 0, show(r));
    const [a, b] = snapshots(target);
    assert.deepEqual([a, b], ["2026.072.02.00", "2026.073.02.00"]);
    const [first, second] = duKiB(join(target, a), join(target, b));
    assert.ok(first > 2000, `first snapshot ${first} KiB`);
    assert.ok(second < first / 50, `second snapshot adds ${second} KiB of ${first}`);
    for (const f of ["d0/f0.dat", "d5/f105.dat", "d9/f199.dat"]) {
      assert.equal(ino(join(target, b, f)), ino(join(target, a, f)));
    }
    // change one file (same size, new mtime), add one
    writeFileSync(join(src, "d0/f0.dat"), "FILE 0\n".repeat(2000));
    utimesSync(join(src, "d0/f0.dat"), new Date("2026-03-14T12:00:00Z"), new Date("2026-03-14T12:00:00Z"));
    writeFileSync(join(src, "d1/new.txt"), "new\n");
    r = await crateRun(crate, DAY3);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /link 199 unchanged files, copy 2 files/);
    const c = snapshots(target)[2];
    assert.notEqual(ino(join(target, c, "d0/f0.dat")), ino(join(target, b, "d0/f0.dat")));
    assert.equal(readFileSync(join(target, c, "d0/f0.dat"), "utf8"), "FILE 0\n".repeat(2000));
    assert.equal(readFileSync(join(target, b, "d0/f0.dat"), "utf8"), "file 0\n".repeat(2000));
    assert.equal(ino(join(target, c, "d5/f105.dat")), ino(join(target, a, "d5/f105.dat")));
    assert.equal(readFileSync(join(target, c, "d1/new.txt"), "utf8"), "new\n");
  } finally {
    s.cleanup();
  }
});

Deno.test("modes, mtimes, symlinks, empty dirs and (as root) owners are preserved; excludes skip", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    writeTree(src, {
      "bin/run.sh": "#!/bin/sh\n",
      "secret/key": "k",
      "logs/a.log": "x",
      "deep/x/app.log": "y",
      "cache/c": "z",
    });
    chmodSync(join(src, "bin/run.sh"), 0o755);
    chmodSync(join(src, "secret/key"), 0o600);
    chmodSync(join(src, "secret"), 0o700);
    mkdirSync(join(src, "empty"));
    symlinkSync("../bin/run.sh", join(src, "secret/link"));
    symlinkSync("/nonexistent/target", join(src, "dangling"));
    const old = new Date("2020-01-02T03:04:05Z");
    utimesSync(join(src, "secret/key"), old, old);
    utimesSync(join(src, "empty"), old, old);
    const root = process.getuid?.() === 0;
    if (root) chownSync(join(src, "secret/key"), 1234, 5678);
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target, ['exclude: "*.log, cache"']);
    const r = await crateRun(crate, DAY1);
    assert.equal(r.code, 0, show(r));
    const snap = join(target, snapshots(target)[0]);
    assert.equal(lstatSync(join(snap, "bin/run.sh")).mode & 0o7777, 0o755);
    assert.equal(lstatSync(join(snap, "secret/key")).mode & 0o7777, 0o600);
    assert.equal(lstatSync(join(snap, "secret")).mode & 0o7777, 0o700);
    assert.equal(lstatSync(join(snap, "secret/key")).mtime.toISOString(), old.toISOString());
    assert.equal(lstatSync(join(snap, "empty")).mtime.toISOString(), old.toISOString());
    assert.equal(readlinkSync(join(snap, "secret/link")), "../bin/run.sh");
    assert.equal(readlinkSync(join(snap, "dangling")), "/nonexistent/target");
    if (root) {
      assert.deepEqual([lstatSync(join(snap, "secret/key")).uid, lstatSync(join(snap, "secret/key")).gid], [
        1234,
        5678,
      ]);
    }
    assert.ok(!existsSync(join(snap, "logs/a.log")) && existsSync(join(snap, "logs")));
    assert.ok(!existsSync(join(snap, "deep/x/app.log")));
    assert.ok(!existsSync(join(snap, "cache")));
  } finally {
    s.cleanup();
  }
});

Deno.test("--dry-run says what it would copy, link and prune and changes nothing", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    writeTree(src, { "a.txt": "a", "b.txt": "b" });
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target, ["retain: 1"]);
    let r = await crateRun(crate, DAY1, ["--dry-run"]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /would create .*2026\.072\.02\.00/);
    assert.match(r.stdout, /would copy a\.txt/);
    assert.ok(!existsSync(target), "dry run created the target");
    assert.equal((await crateRun(crate, DAY1)).code, 0);
    writeFileSync(join(src, "b.txt"), "bb");
    r = await crateRun(crate, "2026-03-20T02:00:00Z", ["--dry-run", "--json"]);
    assert.equal(r.code, 0, show(r));
    const res = JSON.parse(r.stdout).resources[0];
    assert.equal(res.status, "planned");
    assert.equal(res.stats.linked, 1);
    assert.deepEqual(res.stats.copied_paths, ["b.txt"]);
    assert.deepEqual(res.pruned, ["2026.072.02.00"]);
    assert.deepEqual(snapshots(target), ["2026.072.02.00"]);
  } finally {
    s.cleanup();
  }
});

Deno.test("schedule windows: daily, hourly and weekly skip within the window; --now overrides", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src");
    writeTree(src, { "a.txt": "a" });
    const cases: [string, string[], string[]][] = [
      ["daily", ["2026-03-13T01:00:00Z", "2026-03-13T23:59:00Z", "2026-03-14T00:00:00Z"], [
        "2026.072.01.00",
        "2026.073.00.00",
      ]],
      ["hourly", ["2026-03-13T10:05:00Z", "2026-03-13T10:55:00Z", "2026-03-13T11:00:00Z"], [
        "2026.072.10.05",
        "2026.072.11.00",
      ]],
      // 2026-03-09 is a Monday
      ["weekly", ["2026-03-09T08:00:00Z", "2026-03-15T23:00:00Z", "2026-03-16T00:30:00Z"], [
        "2026.068.08.00",
        "2026.075.00.30",
      ]],
    ];
    for (const [schedule, times, expected] of cases) {
      const target = join(s.dir, schedule);
      const crate = backupCrate(join(s.dir, `${schedule}.yaml`), src, target, [`schedule: ${schedule}`]);
      const outs = [];
      for (const t of times) {
        const r = await crateRun(crate, t);
        assert.equal(r.code, 0, show(r));
        outs.push(r.stdout);
      }
      assert.match(outs[1], new RegExp(`skipped: snapshot .* already covers this ${schedule} window`));
      assert.deepEqual(snapshots(target), expected, schedule);
    }
    const crate = join(s.dir, "daily.yaml");
    const r = await crateRun(crate, "2026-03-14T05:00:00Z", ["--now"]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(snapshots(join(s.dir, "daily")), ["2026.072.01.00", "2026.073.00.00", "2026.073.05.00"]);
  } finally {
    s.cleanup();
  }
});

Deno.test("retention over six weeks of a fake clock keeps retain days", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    writeTree(src, { "a.txt": "a" });
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target, ["retain: 7"]);
    const start = Date.parse("2026-03-01T02:00:00Z");
    for (let day = 0; day <= 42; day += 6) {
      const r = await crateRun(crate, new Date(start + day * 86_400_000).toISOString());
      assert.equal(r.code, 0, show(r));
    }
    // day 42 = 2026-04-12; kept: within 7 days (days 36 and 42)
    assert.deepEqual(snapshots(target), ["2026.096.02.00", "2026.102.02.00"]);
    const r = await crateRun(crate, "2026-04-12T20:00:00Z");
    assert.match(r.stdout, /skipped/);
    // months later: everything old goes once the new snapshot exists
    const late = await crateRun(crate, "2026-10-10T02:00:00Z");
    assert.equal(late.code, 0, show(late));
    assert.deepEqual(snapshots(target), ["2026.283.02.00"]);
  } finally {
    s.cleanup();
  }
});

Deno.test("min_free_space above the free space refuses to start", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    writeTree(src, { "a.txt": "a" });
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target, ["min_free_space: 1000000T"]);
    const r = await crateRun(crate, DAY1);
    assert.equal(r.code, 11, show(r));
    assert.match(r.stderr, /min_free_space is 976562\.5P|min_free_space is .*; refusing to start/);
    assert.deepEqual(snapshots(target), []);
  } finally {
    s.cleanup();
  }
});

Deno.test("a name or a link target that is not valid UTF-8 fails the snapshot (exit 4) naming it", async () => {
  // Under Bun (the executables) such a file was left out without a word and such a link copied as a
  // link to another name (U+FFFD for the bad bytes).
  for (const kind of ["name", "link"]) {
    const s = scratch();
    try {
      const src = join(s.dir, "src"), target = join(s.dir, "target");
      writeTree(src, { "a.txt": "a" });
      const py = kind === "name"
        ? `import sys; open(sys.argv[1].encode() + b"/bad\\xff.txt", "w").write("x")`
        : `import os, sys; os.symlink(b"tgt\\xff.yaml", sys.argv[1].encode() + b"/badlink")`;
      execFileSync("python3", ["-c", py, src]);
      const r = await crateRun(backupCrate(join(s.dir, "c.yaml"), src, target), DAY1);
      assert.equal(r.code, 4, show(r));
      assert.match(
        r.stderr,
        kind === "name"
          ? /bad\uFFFD\.txt: file name is not valid UTF-8/
          : /badlink: symbolic link target is not valid UTF-8/,
      );
    } finally {
      s.cleanup();
    }
  }
});

Deno.test("pre_command and post_command run through the shell; failures are reported", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target"), log = join(s.dir, "hooks.log");
    writeTree(src, { "a.txt": "a" });
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target, [
      `pre_command: 'echo "pre $VIGO_RESOURCE" >> ${log} && echo flushed > ${src}/flushed.txt'`,
      `post_command: 'echo "post $VIGO_SNAPSHOT" >> ${log}'`,
    ]);
    let r = await crateRun(crate, DAY1);
    assert.equal(r.code, 0, show(r));
    const snap = join(target, "2026.072.02.00");
    assert.equal(readFileSync(log, "utf8"), `pre files\npost ${snap}\n`);
    assert.equal(
      readFileSync(join(snap, "flushed.txt"), "utf8"),
      "flushed\n",
      "pre_command ran before the copy",
    );
    backupCrate(crate, src, target, ["pre_command: 'exit 3'", `post_command: 'echo post2 >> ${log}'`]);
    r = await crateRun(crate, DAY2);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pre_command exited with status 3/);
    assert.deepEqual(snapshots(target), ["2026.072.02.00"]);
    backupCrate(crate, src, target, ["post_command: 'echo oops >&2; false'"]);
    r = await crateRun(crate, DAY2);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /post_command exited with status 1.*snapshot 2026\.073\.02\.00 was created/);
    assert.match(r.stderr, /oops/);
    assert.deepEqual(snapshots(target), ["2026.072.02.00", "2026.073.02.00"]);
    // The last-run record names the snapshot the failed run made (it said none).
    const last = JSON.parse(readFileSync(join(target, ".vigo-last-run.json"), "utf8"));
    assert.deepEqual([last.status, last.snapshot], ["failed", "2026.073.02.00"]);
  } finally {
    s.cleanup();
  }
});

Deno.test("a hook's output reaches a slow reader of vigocli's stderr whole and in order", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    writeTree(src, { "a.txt": "a" });
    // 300 KB on the hook's stdout, more than a pipe holds; the reader waits 2 s before reading, so vigocli
    // has ended (its run takes ~0.2 s) while most of it is still to be taken.
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target, [
      `pre_command: 'head -c 300000 /dev/zero | tr "\\000" q; echo; echo pre-end >&2'`,
      "post_command: 'echo post-end'",
    ]);
    const r = await runCli(["crate", "run", crate], {
      env: { VIGO_NOW: DAY1 },
      via: ["bash", "-c", '"$@" 2>&1 >/dev/null | (sleep 2; cat) >&2', "bash"],
    });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr.match(/q/g)?.length, 300_000, "the hook's output, whole");
    assert.match(r.stderr, /^q{300000}\npre-end\npost-end\n/m);
  } finally {
    s.cleanup();
  }
});

Deno.test("an unknown parameter is a config error naming resource and parameter (exit 3)", async () => {
  const s = scratch();
  try {
    const crate = backupCrate(join(s.dir, "c.yaml"), "/srv", join(s.dir, "t"), ["retian: 5"]);
    const r = await crateRun(crate, DAY1);
    assert.equal(r.code, 3, show(r));
    assert.match(r.stderr, /resource "files": unknown parameter "retian"/);
  } finally {
    s.cleanup();
  }
});

Deno.test("a path that turns from directory into file (and back) between snapshots", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    writeTree(src, { "x/f": "a", "y": "b" });
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target);
    assert.equal((await crateRun(crate, DAY1)).code, 0);
    execFileSync("rm", ["-rf", join(src, "x"), join(src, "y")]);
    writeTree(src, { "x": "file now", "y/g": "dir now" });
    const r = await crateRun(crate, DAY2);
    assert.equal(r.code, 0, show(r));
    const snap = join(target, "2026.073.02.00");
    assert.equal(readFileSync(join(snap, "x"), "utf8"), "file now");
    assert.equal(readFileSync(join(snap, "y/g"), "utf8"), "dir now");
    assert.equal(readFileSync(join(target, "2026.072.02.00/x/f"), "utf8"), "a");
  } finally {
    s.cleanup();
  }
});

/** `stat -c %.9Y` of each path: mtime in seconds with all nine digits, read by coreutils. */
function mtimes(...paths: string[]): string[] {
  return execFileSync("stat", ["-c", "%.9Y", ...paths], { encoding: "utf8" }).trim().split("\n");
}

Deno.test("times before 1970 are kept and such files linked the next day; sub-millisecond times to the runtime's precision", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    writeTree(src, { "old": "a", "old-frac": "b", "ns": "c", "d/x": "d" });
    symlinkSync("old", join(src, "lnk"));
    const touch = (time: string, path: string, ...flags: string[]) =>
      execFileSync("touch", [...flags, "-d", time, join(src, path)]);
    touch("1960-01-01 00:00:00Z", "old");
    touch("1960-01-01 00:00:00.1234567Z", "old-frac");
    touch("2024-01-01 00:00:00.123456789Z", "ns");
    touch("1950-06-01 00:00:00Z", "d");
    touch("1960-01-01 00:00:00.5Z", "lnk", "-h");
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target);
    assert.equal((await crateRun(crate, DAY1)).code, 0);
    const r = await crateRun(crate, DAY2);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /link 4 unchanged files, copy 0 files/);
    const [a, b] = snapshots(target).map((n) => join(target, n));
    for (const f of ["old", "old-frac", "ns", "d/x"]) assert.equal(ino(join(b, f)), ino(join(a, f)), f);
    const [old, dir, lnk] = mtimes(join(b, "old"), join(b, "d"), join(b, "lnk"));
    assert.deepEqual([old, dir], ["-315619200.000000000", "-618105600.000000000"]);
    assert.equal(
      lnk,
      "-315619200.000000000",
      "a link's time before 1970 loses its fraction (Deno's lutimes)",
    );
    // Deno reads and sets milliseconds; Bun (the executables) sets seconds as a double
    const version = await runCli(["--version"]);
    const precisionNs = /runtime: +bun/.test(version.stdout) ? 1_000n : 1_000_000n;
    const ns = (t: string) => BigInt(t.replace(".", ""));
    const [frac, sub] = mtimes(join(b, "old-frac"), join(b, "ns"));
    const within = (t: string, want: string, limit: bigint) =>
      ns(t) - ns(want) < limit && ns(want) - ns(t) < limit;
    assert.ok(within(frac, "-315619199.876543300", 1_000_000n), `old-frac ${frac}`);
    assert.ok(within(sub, "1704067200.123456789", precisionNs), `ns ${sub}, ${version.stdout}`);
  } finally {
    s.cleanup();
  }
});

Deno.test("a symlink deleted while the source is walked is counted as vanished, not a failed snapshot", async () => {
  const s = scratch();
  const stop = join(s.dir, "stop");
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    mkdirSync(src);
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target, ["schedule: hourly"]);
    // Links made and deleted all the time: the walk lists some that are gone when it reads them.
    const churn = new Deno.Command("python3", {
      args: [
        "-c",
        `import os, sys
src, stop = sys.argv[1], sys.argv[2]
while not os.path.exists(stop):
    for i in range(2000):
        try: os.symlink('/nowhere', f'{src}/l{i:05d}')
        except FileExistsError: pass
    for i in range(2000):
        try: os.unlink(f'{src}/l{i:05d}')
        except FileNotFoundError: pass`,
        src,
        stop,
      ],
    }).spawn();
    try {
      for (let h = 0; h < 24; h++) {
        const now = `2026-03-13T${String(h).padStart(2, "0")}:00:00Z`;
        const r = await runCli(["crate", "run", crate, "--now", "-q"], { env: { VIGO_NOW: now } });
        // It failed the whole snapshot: "<src>/l00369: no such file or directory", exit 9.
        assert.equal(r.code, 0, `run ${h + 1}: ${r.stderr}`);
      }
    } finally {
      writeFileSync(stop, "");
      await churn.status;
    }
  } finally {
    s.cleanup();
  }
});
