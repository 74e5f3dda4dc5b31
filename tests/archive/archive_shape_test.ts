/**
 * verify and restore accept one archive shape (lib/archive/archive_shape.ts). Each archive here is
 * consistent (manifest, SHA-256s and sidecar all match), so only the shape checks stop it: a database
 * that is a symlink, a -wal shipped next to it, a manifest steering the database onto secrets/.master.key,
 * links that escape through earlier links, a trailing-slash link, a path that is both a file and a
 * directory, an entry below a file; and a 100,000-link manifest is checked in linear time.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { verifyArchive } from "../../lib/archive/verify.ts";
import { restoreArchive } from "../../lib/archive/restore.ts";
import { inspectDatabase } from "../../lib/sqlite/database_facts.ts";
import { VigoError } from "../../lib/errors.ts";
import { runCli } from "../helpers/cli.ts";
import { databaseBytes, type Member, writeArchive } from "./hostile_archive.ts";

const BAD_INPUT = 4;

interface Ctx {
  dir: string;
  db: Uint8Array;
  facts: { pageSize: number; pageCount: number };
}

function setup(): Ctx {
  const dir = mkdtempSync(join(tmpdir(), "vigo-shape-"));
  const db = databaseBytes(join(dir, "src.db"), 5);
  const f = inspectDatabase(join(dir, "src.db"));
  return { dir, db, facts: { pageSize: f.pageSize, pageCount: f.pageCount } };
}

/** The members of a plain valid archive, plus `extra`. */
function base(ctx: Ctx, extra: Member[] = []): Member[] {
  return [
    { path: "db/", type: "dir", mode: 0o700 },
    { path: "db/vigo.db", type: "file", data: ctx.db, mode: 0o600 },
    { path: "stacks/", type: "dir" },
    { path: "stacks/web.yaml", type: "file", data: new TextEncoder().encode("name: web\n") },
    ...extra,
  ];
}

/** A restore target that already holds a server: a key, a certificate, a database. */
function existingTarget(ctx: Ctx, name: string): string {
  const t = join(ctx.dir, name);
  for (const d of ["db", "secrets", "tls", "stacks"]) mkdirSync(join(t, d), { recursive: true });
  writeFileSync(join(t, "secrets/.master.key"), "the real key\n");
  writeFileSync(join(t, "tls/ca.pem"), "the real certificate\n");
  writeFileSync(join(t, "db/vigo.db"), ctx.db);
  return t;
}

const restore = (archive: string, target: string) =>
  restoreArchive({ archive, target, dbOnly: false, dryRun: false, force: false, now: new Date() });

async function expectBadInput(what: Promise<unknown>, pattern: RegExp, label: string): Promise<void> {
  await assert.rejects(what, (err: Error) => {
    assert.ok(err instanceof VigoError, `${label}: ${err.stack}`);
    assert.equal(err.exitCode, BAD_INPUT, `${label}: ${err.message}`);
    assert.match(err.message, pattern, label);
    return true;
  });
}

Deno.test("verify and restore refuse the same hostile shapes, leaving the target untouched", async () => {
  const ctx = setup();
  try {
    const cases: [string, Member[], RegExp][] = [
      ["db-symlink", [
        { path: "db/", type: "dir" },
        { path: "db/vigo.db", type: "symlink", target: "../stacks/web.yaml" },
        { path: "stacks/", type: "dir" },
        { path: "stacks/web.yaml", type: "file", data: ctx.db },
      ], /db\/vigo\.db is a symlink; the database must be a regular file/],
      [
        "db-wal",
        base(ctx, [{ path: "db/vigo.db-wal", type: "file", data: new Uint8Array(32) }]),
        /db\/vigo\.db-wal/,
      ],
      [
        "db-journal",
        base(ctx, [{ path: "db/vigo.db-journal", type: "file", data: new Uint8Array(8) }]),
        /-journal/,
      ],
      [
        "chained-links",
        base(ctx, [
          { path: "stacks/a", type: "symlink", target: ".." },
          { path: "stacks/b", type: "symlink", target: "a/../.." },
        ]),
        /stacks\/b -> "a\/\.\.\/\.\." leaves the target/,
      ],
      [
        "link-through-link-deeper",
        base(ctx, [
          { path: "stacks/d/", type: "dir" },
          { path: "stacks/d/up", type: "symlink", target: "../.." },
          { path: "stacks/x", type: "symlink", target: "d/up/../etc" },
        ]),
        /stacks\/x .* leaves the target/,
      ],
      [
        "unknown-then-up",
        base(ctx, [{ path: "stacks/u", type: "symlink", target: "../tls/nothere/../../stacks" }]),
        /does not hold/,
      ],
      [
        "file-and-directory",
        base(ctx, [
          { path: "stacks/zz", type: "file", data: new TextEncoder().encode("f\n") },
          { path: "stacks/zz/", type: "dir" },
        ]),
        /entries stacks\/zz and stacks\/zz\/ are one path, a file and a directory/,
      ],
      [
        "under-a-file",
        base(ctx, [
          { path: "stacks/zz", type: "file", data: new TextEncoder().encode("f\n") },
          { path: "stacks/zz/b", type: "file", data: new TextEncoder().encode("b\n") },
        ]),
        /entry stacks\/zz\/b lies under the file stacks\/zz/,
      ],
      [
        "trailing-slash-link",
        base(ctx, [{ path: "stacks/l/", type: "symlink", target: "web.yaml" }]),
        /only directory paths end in "\/"/,
      ],
    ];
    for (const [name, members, pattern] of cases) {
      const archive = join(ctx.dir, `${name}.tar.gz`);
      await writeArchive(archive, members, ctx.facts);
      await expectBadInput(verifyArchive(archive, {}), pattern, `verify ${name}`);
      const target = existingTarget(ctx, `t-${name}`);
      await expectBadInput(restore(archive, target), pattern, `restore ${name}`);
      assert.equal(readFileSync(join(target, "secrets/.master.key"), "utf8"), "the real key\n", name);
      assert.ok(!existsSync(join(target, "stacks/b")) && !existsSync(join(target, "stacks/a")), name);
    }
  } finally {
    rmSync(ctx.dir, { recursive: true, force: true });
  }
});

Deno.test("a plain archive of the same shape verifies and restores (the builder is not hostile by itself)", async () => {
  const ctx = setup();
  try {
    const archive = join(ctx.dir, "good.tar.gz");
    await writeArchive(
      archive,
      base(ctx, [{ path: "stacks/link", type: "symlink", target: "web.yaml" }]),
      ctx.facts,
    );
    const v = await verifyArchive(archive, {});
    assert.equal(v.integrityCheck, "ok");
    const r = await restore(archive, join(ctx.dir, "fresh"));
    assert.equal(r.database, join(ctx.dir, "fresh/db/vigo.db"));
  } finally {
    rmSync(ctx.dir, { recursive: true, force: true });
  }
});

Deno.test("the manifest's source.database cannot steer the database onto secrets/.master.key or tls/ca.pem", async () => {
  const ctx = setup();
  try {
    for (const victim of ["secrets/.master.key", "tls/ca.pem", "notes.txt"]) {
      const archive = join(ctx.dir, "steer.tar.gz");
      await writeArchive(archive, base(ctx), ctx.facts, {
        server_root: "/srv/vigo",
        server_yaml: "/srv/vigo/server.yaml",
        database: `/srv/vigo/${victim}`,
      });
      const target = existingTarget(ctx, `t-${victim.replace(/\W/g, "_")}`);
      writeFileSync(join(target, "notes.txt"), "operator notes\n");
      const before = readFileSync(join(target, victim));
      const r = await restore(archive, target);
      assert.equal(r.database, join(target, "db/vigo.db"), victim);
      assert.ok(r.databaseNote, victim);
      assert.deepEqual(readFileSync(join(target, victim)), before, `${victim} was replaced`);
    }
  } finally {
    rmSync(ctx.dir, { recursive: true, force: true });
  }
});

Deno.test("the integrity check never checkpoints a -wal lying next to the database into it", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigo-shape-"));
  try {
    const path = join(dir, "w.db");
    const w = new DatabaseSync(path);
    w.exec(
      "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x); INSERT INTO t VALUES (1)",
    );
    w.exec("PRAGMA wal_checkpoint(TRUNCATE); INSERT INTO t VALUES (2)");
    const staged = join(dir, "staged.db");
    writeFileSync(staged, readFileSync(path));
    writeFileSync(`${staged}-wal`, readFileSync(`${path}-wal`));
    w.close();
    const bytes = readFileSync(staged);
    assert.equal(inspectDatabase(staged).integrity, "ok");
    assert.deepEqual(readFileSync(staged), bytes, "the database file was changed");
    assert.ok(!existsSync(`${staged}-shm`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("100,000 symlinks in a manifest: inspect and verify answer in seconds", async () => {
  const ctx = setup();
  try {
    const links: Member[] = [];
    for (let i = 0; i < 100_000; i++) {
      links.push({
        path: `stacks/l${i}`,
        type: "symlink",
        target: i % 2 ? "web.yaml" : `l${i - 1 < 0 ? 1 : i - 1}`,
      });
    }
    const archive = join(ctx.dir, "many.tar.gz");
    await writeArchive(archive, base(ctx, links), ctx.facts);
    // CPU time, not time passed: the work is what grows with the links, and on a loaded machine the
    // time passed reached 20 s for linear checks.
    const i = await runCli(["backup", "inspect", archive], { via: ["/usr/bin/time", "-f", "CPU %U %S"] });
    assert.equal(i.code, 0, i.stderr);
    const [user, sys] = /^CPU (\S+) (\S+)$/m.exec(i.stderr)!.slice(1).map(Number);
    const inspectMs = (user + sys) * 1000;
    const t0 = process.cpuUsage();
    await verifyArchive(archive, {});
    const used = process.cpuUsage(t0);
    const verifyMs = (used.user + used.system) / 1000;
    // Quadratic checks took 86 s here; linear ones take well under a second (slack for a busy machine).
    assert.ok(inspectMs < 20_000 && verifyMs < 20_000, `CPU: inspect ${inspectMs} ms, verify ${verifyMs} ms`);
  } finally {
    rmSync(ctx.dir, { recursive: true, force: true });
  }
});
