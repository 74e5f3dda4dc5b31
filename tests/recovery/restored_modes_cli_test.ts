/**
 * What modes a recovered host gets. An archive restore gives everything the archive holds its archived
 * mode (the database, db/, secrets/ and .master.key among them) and the directories it has to create
 * beyond that (the target, its missing parents) 0755 minus the umask, so a server running as another
 * user can reach its database; a replica restore and `crate restore-dump` create the database as SQLite
 * creates one, 0644 minus the umask. Before, the target was made 0700 and the replica's output 0600, so
 * after the disaster-recovery guide's `mv` the database was unreadable to such a server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { buildReplica } from "../litestream/handmade_replica.ts";

const umask = (u: string) => ["sh", "-c", `umask ${u}; exec "$@"`, "sh"];

function mode(path: string): string {
  return (Deno.lstatSync(path).mode! & 0o7777).toString(8).padStart(4, "0");
}

Deno.test("archive restore into a missing target: archived modes inside, 0755 minus umask for the rest", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  const scratch = await Deno.makeTempDir({ prefix: "vigo-modes-" });
  try {
    await Deno.chmod(fx.db, 0o644);
    await Deno.chmod(join(fx.root, "secrets"), 0o700);
    const archive = join(scratch, "a.tar.gz");
    const c = await runCli(["backup", "create", ...fx.flags, archive]);
    assert.equal(c.code, 0, c.stderr);
    for (const [u, dirs] of [["022", "0755"], ["027", "0750"], ["000", "0755"]]) {
      const target = join(scratch, `u${u}`, "srv", "vigo");
      const r = await runCli(["backup", "restore", archive, "--target", target], { via: umask(u) });
      assert.equal(r.code, 0, r.stderr);
      const got = Object.fromEntries(
        [
          join(scratch, `u${u}`),
          target,
          "db",
          "db/vigo.db",
          "secrets",
          "secrets/.master.key",
          "stacks/envoys",
          "tls/ca_key.pem",
        ].map((p) => [p.replace(scratch, ""), mode(p.startsWith("/") ? p : join(target, p))]),
      );
      assert.deepEqual(got, {
        [`/u${u}`]: dirs,
        [`/u${u}/srv/vigo`]: dirs,
        "db": mode(join(fx.root, "db")),
        "db/vigo.db": "0644",
        "secrets": "0700",
        "secrets/.master.key": "0600",
        "stacks/envoys": "0750",
        "tls/ca_key.pem": "0600",
      }, `umask ${u}`);
    }
    // --db-only puts the database in with its archived mode too, into an existing db/ or a new one.
    const only = join(scratch, "only");
    const d = await runCli(["backup", "restore", archive, "--target", only, "--db-only"], {
      via: umask("022"),
    });
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual([mode(only), mode(join(only, "db/vigo.db"))], ["0755", "0644"]);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
    await Deno.remove(scratch, { recursive: true });
  }
});

Deno.test("replica restore and crate restore-dump create the database 0644 minus the umask", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-modes-" });
  try {
    await buildReplica(replicaClientFor(new FileBackend(`file://${dir}/replica`)), "0123456789abcdef", dir);
    const dump = join(dir, "vigo.sql");
    await Deno.writeTextFile(dump, "CREATE TABLE t(id INTEGER PRIMARY KEY);\nINSERT INTO t VALUES(1);\n");
    for (const [u, want] of [["022", "0644"], ["027", "0640"], ["077", "0600"]]) {
      const out = join(dir, `replica-${u}.db`);
      const r = await runCli(
        ["backup", "replica", "restore", "--url", `file://${dir}/replica`, "-o", out],
        { via: umask(u) },
      );
      assert.equal(r.code, 0, r.stderr);
      const fromDump = join(dir, `dump-${u}.db`);
      const d = await runCli(["crate", "restore-dump", dump, "-o", fromDump], { via: umask(u) });
      assert.equal(d.code, 0, d.stderr);
      assert.deepEqual([mode(out), mode(fromDump)], [want, want], `umask ${u}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
