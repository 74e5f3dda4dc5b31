/**
 * Progress lines through a real pty (util-linux `script`): create, create's upload, verify, restore, download,
 * upload, replica restore, crate run and drill
 * draw a live line that is erased when the phase ends (the screen left behind holds only the summaries
 * and the log lines printed meanwhile); nothing of it without a terminal, on a dumb one (TERM=dumb or
 * empty), with --json or with -q;
 * `--progress` without a terminal prints plain lines (no CR, no escape sequences). Also -q (errors
 * only), -v (one line per archived file), and -q -v refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { runCliInPty, screenLines } from "../helpers/pty.ts";
import { makeServerRoot } from "../archive/fixture.ts";
import { startS3Server } from "../helpers/s3_server.ts";

const LIVE = /archiving .*%.*\/.*B/;

Deno.test("progress: live on a pty and erased; absent without one, with --json, with -q; --progress plain", async () => {
  const fx = await makeServerRoot({ rows: 3000 });
  const out = join(fx.root, "a.tar.gz");
  const c = await runCliInPty(["backup", "create", ...fx.flags, out]);
  assert.equal(c.code, 0, c.raw);
  assert.match(c.raw, LIVE, "a progress line was drawn");
  assert.match(c.raw, /hashing /);
  const screen = screenLines(c.raw);
  assert.deepEqual(screen.filter((l) => /archiving|hashing|%/.test(l)), [], screen.join("\n"));
  assert.match(screen.join("\n"), /a\.tar\.gz: \d+ bytes, \d+ entries/);

  const v = await runCliInPty(["backup", "verify", out]);
  assert.equal(v.code, 0, v.raw);
  assert.match(v.raw, /reading .*a\.tar\.gz +\d+%/);
  assert.deepEqual(screenLines(v.raw).filter((l) => /reading|%/.test(l)), []);

  const json = await runCliInPty(["backup", "verify", out, "--json"]);
  assert.equal(json.code, 0, json.raw);
  assert.doesNotMatch(json.raw, /reading/);
  assert(!json.raw.includes("\x1b"), "no escape sequences");
  assert.equal(JSON.parse(json.raw).ok, true);

  const quiet = await runCliInPty(["-q", "backup", "verify", out]);
  assert.equal(quiet.code, 0, quiet.raw);
  assert.equal(quiet.raw, "", "errors only: nothing on success");

  const piped = await runCli(["backup", "verify", out]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stderr, "");
  assert.match(piped.stdout, /sidecar ok/);

  const remote = `file://${fx.root}/remote`;
  const up = await runCli(["backup", "create", ...fx.flags, remote, "--json"]);
  assert.equal(up.code, 0, up.stderr);
  const name = JSON.parse(up.stdout).upload.key.replace(/^archives\//, "");
  await Deno.mkdir(join(fx.root, "dl"));
  const dl = await runCliInPty(["backup", "download", name, "--url", remote, "-o", join(fx.root, "dl", "")]);
  assert.equal(dl.code, 0, dl.raw);
  assert.match(dl.raw, /downloading .*\.tar\.gz +\d+%/);
  assert.deepEqual(screenLines(dl.raw).filter((l) => /%/.test(l)), []);
  const upl = await runCliInPty(["backup", "upload", join(fx.root, "dl", name), "--url", `${remote}-again`]);
  assert.equal(upl.code, 0, upl.raw);
  assert.match(upl.raw, /uploading .*\.tar\.gz +\d+%/);
  assert.deepEqual(screenLines(upl.raw).filter((l) => /%/.test(l)), []);

  const replica = `file://${REPO_ROOT}tests/vectors/litestream/replica`;
  const rr = await runCliInPty([
    "backup",
    "replica",
    "restore",
    "--url",
    replica,
    "-o",
    join(fx.root, "r.db"),
  ]);
  assert.equal(rr.code, 0, rr.raw);
  assert.match(rr.raw, /restoring .*replica +\d+%/);
  const rrScreen = screenLines(rr.raw);
  assert.deepEqual(rrScreen.filter((l) => /%/.test(l)), []);
  // the log lines printed while the progress line was drawn are still on the screen
  assert.ok(rrScreen.some((l) => /^restoring snapshot /.test(l)), rrScreen.join("\n"));

  const crate = join(fx.root, "crate.yaml");
  await Deno.writeTextFile(
    crate,
    `name: t\nresources:\n  - name: tree\n    type: backup\n    source_dir: ${fx.root}/stacks\n` +
      `    target_path: ${fx.root}/crate-out\n`,
  );
  const run = await runCliInPty(["crate", "run", crate, "--now"]);
  assert.equal(run.code, 0, run.raw);
  assert.match(run.raw, /snapshot .*\/stacks +\d+ entries/);
  assert.deepEqual(screenLines(run.raw).filter((l) => /\d+ entries/.test(l)), []);

  // restore reads the archive with a live line, erased before its summary
  const rs = await runCliInPty(["backup", "restore", out, "--target", join(fx.root, "restored")]);
  assert.equal(rs.code, 0, rs.raw);
  assert.match(rs.raw, /reading .*a\.tar\.gz +\d+%/);
  assert.deepEqual(screenLines(rs.raw).filter((l) => /%/.test(l)), []);
  // an upload (here the only destination) is paced by the archiving line
  const upload = await runCliInPty(["backup", "create", ...fx.flags, `file://${fx.root}/remote2`]);
  assert.equal(upload.code, 0, upload.raw);
  assert.match(upload.raw, LIVE);
  assert.deepEqual(screenLines(upload.raw).filter((l) => /%/.test(l)), []);
  // the drill reads the newest archive of paths.snapshots with a live line
  const made = await runCli(["backup", "create", ...fx.flags]);
  assert.equal(made.code, 0, made.stderr);
  const drill = await runCliInPty(["backup", "drill", ...fx.flags]);
  assert.equal(drill.code, 0, drill.raw);
  assert.match(drill.raw, /reading .*vigo-backup-.*\.tar\.gz +\d+%/);
  assert.deepEqual(screenLines(drill.raw).filter((l) => /%/.test(l)), []);

  const plain = await runCli(["--progress", "backup", "create", ...fx.flags, join(fx.root, "b.tar.gz")]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /^archiving .* 100% .*\n/m, plain.stderr);
  assert(!plain.stderr.includes("\r") && !plain.stderr.includes("\x1b"), "no redraws");
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("progress: a dumb terminal (TERM=dumb or empty) gets no live line; --progress plain lines", async () => {
  const fx = await makeServerRoot({ rows: 3000 });
  try {
    // A pty turns each LF into CR LF: any other CR, or any escape sequence, is a redraw.
    const redraws = (raw: string) => raw.includes("\x1b") || /\r(?!\n)/.test(raw);
    for (const term of ["dumb", ""]) {
      const out = join(fx.root, `dumb${term}.tar.gz`);
      const c = await runCliInPty(["backup", "create", ...fx.flags, out], { TERM: term, NO_COLOR: "1" });
      assert.equal(c.code, 0, c.raw);
      assert.ok(!redraws(c.raw), JSON.stringify(c.raw));
      assert.doesNotMatch(c.raw, /archiving|hashing/);
      assert.match(c.raw, /\.tar\.gz: \d+ bytes, \d+ entries/);
      const v = await runCliInPty(["backup", "verify", out], { TERM: term });
      assert.equal(v.code, 0, v.raw);
      assert.ok(!redraws(v.raw), JSON.stringify(v.raw));
    }
    // --progress: plain lines, and the -v lines printed among them erase nothing
    const p = await runCliInPty([
      "--progress",
      "-v",
      "backup",
      "create",
      ...fx.flags,
      join(fx.root, "p.tar.gz"),
    ], {
      TERM: "dumb",
    });
    assert.equal(p.code, 0, p.raw);
    assert.ok(!redraws(p.raw), JSON.stringify(p.raw));
    assert.match(p.raw, /^archiving .* 100% /m);
    assert.match(p.raw, /^vigocli: archive /m);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test({
  name: "progress: an upload to s3:// (SigV4 hashes first) shows one uploading phase and a hashing one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s3 = await startS3Server();
    const c = s3.config();
    const fx = await makeServerRoot({
      rows: 20,
      yaml: `database:\n  driver: sqlite\nbackup:\n  url: ${s3.url("vigo")}\n  endpoint: ${c.endpoint}\n` +
        `  region: ${c.region}\n  force_path_style: true\n  access_key_id: ${c.accessKeyId}\n` +
        `  secret_access_key: ${c.secretAccessKey}\n`,
    });
    try {
      const out = join(fx.root, "snapshots", "p.tar.gz");
      const made = await runCli(["backup", "create", ...fx.flags, out]);
      assert.equal(made.code, 0, made.stderr);
      const up = await runCli(["--progress", "backup", "upload", out, ...fx.flags]);
      assert.equal(up.code, 0, up.stderr);
      // A phase prints a line as it starts and one as it ends: count the ends.
      const ends = (label: string) =>
        up.stderr.split("\n").filter((l) => l.startsWith(`${label} `) && / 100% /.test(l)).length;
      assert.equal(ends("uploading"), 1, up.stderr);
      assert.equal(ends("hashing"), 1, up.stderr);
    } finally {
      await s3.stop();
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});

Deno.test("verbosity: -q is errors only, -v names each file and request, -q -v is a usage error", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  await Deno.remove(join(fx.root, "tls"), { recursive: true }); // a warning to silence
  const v = await runCli(["-v", "backup", "create", ...fx.flags, join(fx.root, "v.tar.gz")]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stderr, /vigocli: archive stacks\/roles\/web\.yaml <- .*\/stacks\/roles\/web\.yaml/);
  assert.match(v.stderr, /vigocli: warning: .*tls: does not exist/);
  const target = join(fx.root, "restored");
  const vr = await runCli(["-v", "backup", "restore", join(fx.root, "v.tar.gz"), "--target", target]);
  assert.equal(vr.code, 0, vr.stderr);
  assert.match(vr.stderr, /^vigocli: restore stacks\/roles\/web\.yaml$/m);
  const remote = `file://${fx.root}/remote`;
  const vl = await runCli(["-v", "backup", "list", "--remote", "--url", remote, "--json"]);
  assert.equal(vl.code, 0, vl.stderr);
  assert.match(vl.stderr, new RegExp(`^vigocli: list ${remote}/archives/$`, "m"), "one line per request");
  const q = await runCli(["-q", "backup", "create", ...fx.flags, join(fx.root, "q.tar.gz")]);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout + q.stderr, "");
  const qj = await runCli(["-q", "backup", "verify", join(fx.root, "q.tar.gz"), "--json"]);
  assert.equal(JSON.parse(qj.stdout).ok, true, "--json output is still printed");
  const qe = await runCli(["-q", "backup", "verify", join(fx.root, "missing.tar.gz")]);
  assert.equal(qe.code, 9);
  assert.match(qe.stderr, /missing\.tar\.gz/, "errors are still printed");
  const both = await runCli(["-q", "-v", "backup", "verify", join(fx.root, "q.tar.gz")]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /-q\/--quiet and -v\/--verbose/);
  await Deno.remove(fx.root, { recursive: true });
});
