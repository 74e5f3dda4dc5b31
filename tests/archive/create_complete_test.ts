/**
 * create never shrinks a backup silently: top-level stacks/, secrets/, server.yaml and the database that are
 * symbolic links (another volume) are followed and recorded in the manifest; a missing
 * secrets/.master.key fails (exit 9) unless --allow-missing-master-key; a name that is not valid UTF-8
 * fails naming the file (exit 4) instead of being dropped with a "removed while reading" warning.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { exists, makeServerRoot } from "./fixture.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { loadServerConfig } from "../../lib/config/server_yaml.ts";
import { writeArchive } from "../../lib/archive/archive_writer.ts";
import { openFileSink } from "../../lib/archive/file_sink.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("top-level links to another volume are followed, archived whole and recorded", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  const volume = await Deno.makeTempDir({ prefix: "vigo-volume-" });
  const target = await Deno.makeTempDir({ prefix: "vigo-followed-target-" });
  try {
    for (const tree of ["secrets", "stacks"]) {
      await Deno.rename(join(fx.root, tree), join(volume, tree));
      await Deno.symlink(join(volume, tree), join(fx.root, tree));
    }
    await Deno.rename(fx.serverYaml, join(volume, "server.yaml"));
    await Deno.symlink(join(volume, "server.yaml"), fx.serverYaml);
    await sqliteQuery(fx.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    await Deno.rename(fx.db, join(volume, "vigo.db"));
    await Deno.symlink(join(volume, "vigo.db"), fx.db);
    const archive = join(fx.root, "snapshots", "followed.tar.gz");
    const r = await runCli(["backup", "create", ...fx.flags, archive]);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse((await runCli(["backup", "inspect", archive])).stdout);
    assert.deepEqual(manifest.source.followed, {
      "secrets/": join(volume, "secrets"),
      "stacks/": join(volume, "stacks"),
      "server.yaml": join(volume, "server.yaml"),
      "db/vigo.db": join(volume, "vigo.db"),
    });
    const paths = manifest.entries.map((e: { path: string }) => e.path);
    for (const p of ["secrets/.master.key", "secrets/vigo/backup/aws_access_key", "stacks/roles/web.yaml"]) {
      assert.ok(paths.includes(p), `${p} missing from the archive`);
    }
    const restored = await runCli(["backup", "restore", archive, "--target", target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.ok((await Deno.lstat(join(target, "secrets"))).isDirectory);
    assert.equal((await sqliteQuery(join(target, "db/vigo.db"), "SELECT count(*) FROM t")).trim(), "20");
    assert.equal(
      await Deno.readTextFile(join(target, "secrets/.master.key")),
      "0123456789abcdef0123456789abcdef\n",
    );
  } finally {
    for (const d of [fx.root, volume, target]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("a missing master key fails create (exit 9) unless --allow-missing-master-key", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    await Deno.remove(join(fx.root, "secrets/.master.key"));
    const out = join(fx.root, "snapshots", "nokey.tar.gz");
    const r = await runCli(["backup", "create", ...fx.flags, out]);
    assert.equal(r.code, 9, r.stderr);
    assert.match(r.stderr, /secrets\/\.master\.key: not found as a regular file.*--allow-missing-master-key/);
    assert.ok(!(await exists(out)));
    const allowed = await runCli(["backup", "create", ...fx.flags, "--allow-missing-master-key", out]);
    assert.equal(allowed.code, 0, allowed.stderr);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("a file name that is not valid UTF-8 fails create, naming the file", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    const dir = new TextEncoder().encode(join(fx.root, "stacks/vars/"));
    const bad = new Uint8Array([...dir, 0x62, 0x61, 0x64, 0xff, 0x2e, 0x79, 0x6d, 0x6c]);
    const py = `import sys; open(bytes.fromhex(sys.argv[1]), "w").write("x: 1\\n")`;
    const hexName = [...bad].map((b) => b.toString(16).padStart(2, "0")).join("");
    const made = await new Deno.Command("python3", { args: ["-c", py, hexName] }).output();
    assert.equal(made.code, 0);
    const out = join(fx.root, "snapshots", "utf8.tar.gz");
    const r = await runCli(["backup", "create", ...fx.flags, out]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /stacks\/vars\/bad\uFFFD\.yml: file name is not valid UTF-8/);
    assert.ok(!(await exists(out)));
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("a symbolic link whose target is not valid UTF-8 fails create and its dry run, naming the link", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    const link = join(fx.root, "stacks/vars/badlink");
    // Under Bun (the executables) the target read back as "tgt\uFFFD.yaml": a link to another name, archived.
    const py = `import os, sys; os.symlink(b"tgt\\xff.yaml", sys.argv[1])`;
    const made = await new Deno.Command("python3", { args: ["-c", py, link] }).output();
    assert.equal(made.code, 0);
    const out = join(fx.root, "snapshots", "utf8-link.tar.gz");
    for (const args of [[out], ["--dry-run"]]) {
      const r = await runCli(["backup", "create", ...fx.flags, ...args]);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /^vigocli: .*stacks\/vars\/badlink: symbolic link target is not valid UTF-8/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assert.ok(!(await exists(out)));
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("archives written inside an archived tree leave themselves out: paths.snapshots, OUT, its temporary file and lock", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    await Deno.writeTextFile(
      fx.serverYaml,
      "database:\n  driver: sqlite\npaths:\n  snapshots: stacks/snaps\n",
    );
    const listed = async (archive: string) =>
      JSON.parse((await runCli(["backup", "inspect", archive])).stdout).entries as {
        path: string;
        type: string;
      }[];
    const entries = async (archive: string) => (await listed(archive)).map((e) => e.path);
    const first = await runCli(["backup", "create", ...fx.flags]);
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(["backup", "create", ...fx.flags, "--name-format", "compact", "--json"]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stderr,
      /stacks\/snaps: the archives directory \(paths\.snapshots\); not archived inside itself/,
    );
    const secondEntries = await listed(JSON.parse(second.stdout).path);
    const inSecond = secondEntries.map((e) => e.path);
    assert.ok(inSecond.includes("stacks/roles/web.yaml"), inSecond.join(" "));
    // Each archive held every earlier one, and its own temporary file and lock, which restore put back.
    assert.deepEqual(inSecond.filter((p) => p.startsWith("stacks/snaps")), []);
    const dry = JSON.parse((await runCli(["backup", "create", ...fx.flags, "--dry-run", "--json"])).stdout);
    assert.equal(
      dry.total_files,
      secondEntries.filter((e) => e.type === "file").length,
      "the dry run agrees",
    );

    const own = join(fx.root, "stacks/vars/own.tar.gz");
    const explicit = await runCli(["backup", "create", ...fx.flags, own]);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.deepEqual((await entries(own)).filter((p) => /own\.tar\.gz/.test(p)), []);

    // The same root reached through a linked parent (/srv → /data/srv): nothing matched before.
    const alias = `${fx.root}-alias`;
    await Deno.symlink(fx.root, alias);
    try {
      const flags = ["--server-root", alias, "--server-yaml", join(alias, "server.yaml")];
      // An explicit name: a third default name could fall in the second's second.
      const thirdPath = join(alias, "stacks/snaps/third.tar.gz");
      const third = await runCli(["backup", "create", ...flags, thirdPath]);
      assert.equal(third.code, 0, third.stderr);
      assert.match(third.stderr, /not archived inside itself/);
      assert.deepEqual((await entries(thirdPath)).filter((p) => p.startsWith("stacks/snaps")), []);
    } finally {
      await Deno.remove(alias);
    }
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("a database inside an archived tree is archived once, as db/vigo.db, and its pin holds", async () => {
  const fx = await makeServerRoot({ rows: 300 });
  try {
    const inside = join(fx.root, "stacks", "data", "vigo.db");
    await Deno.mkdir(join(fx.root, "stacks", "data"));
    await sqliteQuery(fx.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    await Deno.rename(fx.db, inside);
    await Deno.writeTextFile(fx.serverYaml, `database:\n  driver: sqlite\n  path: ${inside}\n`);
    // Frames in the -wal, so the image needs the WAL and the pin's read mark.
    await sqliteQuery(inside, "PRAGMA wal_autocheckpoint=0; UPDATE t SET n = n + 1 WHERE id % 2 = 0");
    const archive = join(fx.root, "snapshots", "inside.tar.gz");
    const r = await runCli(["backup", "create", ...fx.flags, archive]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stacks\/data\/vigo\.db: belongs to the live database/);
    const manifest = JSON.parse((await runCli(["backup", "inspect", archive])).stdout);
    const paths = manifest.entries.map((e: { path: string }) => e.path);
    assert.ok(paths.includes("db/vigo.db"));
    assert.ok(!paths.some((p: string) => p.startsWith("stacks/data/vigo.db")), paths.join(" "));
    const v = await runCli(["backup", "verify", archive]);
    assert.equal(v.code, 0, v.stderr);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("writeArchive refused before its pin (a PostgreSQL server.yaml) still aborts the sink: no temporary file, done rejects", async () => {
  const fx = await makeServerRoot({ rows: 1, yaml: "database:\n  driver: postgres\n" });
  try {
    const cfg = await loadServerConfig(fx.serverYaml, fx.root, { secrets: "skip" });
    const out = join(fx.root, "snapshots");
    // Through a transform (encryption's place) too: the abort must reach the sink behind it.
    for (const transform of [undefined, new TransformStream<Uint8Array, Uint8Array>()]) {
      const output = join(out, "pg.tar.gz");
      const sink = await openFileSink(output);
      await assert.rejects(
        writeArchive({ config: cfg, workDir: out, output, transform }, sink.writable),
        ConfigError,
      );
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), [], `transform: ${!!transform}`);
      await assert.rejects(sink.done);
    }
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
