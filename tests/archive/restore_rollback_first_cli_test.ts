/**
 * A restore killed just after it moved server.yaml aside leaves the root without one. The next
 * command must roll that back before it reads server.yaml: `restore --db-only` read the default
 * database path instead of the configured one and put the database where the server never looks
 * (exit 0); `create` failed with "server.yaml not found" and rolled nothing back (found by review).
 * The kill is real: strace delivers SIGKILL at the rename that would put the new server.yaml in.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { hasStrace } from "../helpers/unremovable_temp.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { exists, makeServerRoot } from "./fixture.ts";

const YAML = "database:\n  driver: sqlite\n  path: db2/vigo.db\n";

/** A root whose database is at db2/vigo.db (server.yaml says so), and an archive of another root. */
async function setup() {
  const src = await makeServerRoot({ rows: 30 });
  const archive = join(src.root, "snapshots", "b.tar.gz");
  const made = await runCli(["backup", "create", ...src.flags, archive]);
  assert.equal(made.code, 0, made.stderr);
  const dst = await makeServerRoot({ rows: 80, yaml: YAML });
  await Deno.mkdir(join(dst.root, "db2"));
  await Deno.rename(dst.db, join(dst.root, "db2/vigo.db"));
  return { src, dst, archive, yaml: join(dst.root, "server.yaml") };
}

/**
 * `backup restore ARCHIVE --target ROOT`, killed at the rename that puts the new server.yaml in. Which
 * rename that is comes from a traced restore of a copy of the root (strace's `-P` matched only the
 * rename that moved the old one aside, not the one naming it as the destination).
 */
async function killedRestore(archive: string, root: string, yaml: string): Promise<void> {
  const copy = `${root}-copy`;
  await sh("cp", "-a", root, copy);
  // Once untraced first: a run from sources whose modules changed writes Deno's transpile cache, by
  // renames the counted run would include and the killing one not.
  const [cmd, ...args] = cliCommand();
  await sh(cmd, ...args, "backup", "restore", archive, "--target", copy, "--force");
  await Deno.remove(copy, { recursive: true });
  await sh("cp", "-a", root, copy);
  const trace = `${root}-trace.txt`;
  await strace(["-o", trace], archive, copy);
  const renames = (await Deno.readTextFile(trace)).split("\n").filter((l) => /rename/.test(l));
  const at = renames.findIndex((l) => l.includes(`, "${copy}/server.yaml"`));
  assert.ok(at >= 0, renames.join("\n"));
  await Deno.remove(copy, { recursive: true });
  await Deno.remove(trace);
  const code = await strace(
    ["-o", "/dev/null", "-e", `inject=rename,renameat,renameat2:signal=SIGKILL:when=${at + 1}`],
    archive,
    root,
  );
  assert.notEqual(code, 0, "the restore was not killed");
  assert.ok(!(await exists(yaml)), "server.yaml is not aside: the kill came elsewhere");
}

async function strace(flags: string[], archive: string, root: string): Promise<number> {
  const args = ["-f", "-qq", "-e", "trace=rename,renameat,renameat2", ...flags, ...cliCommand()];
  args.push("backup", "restore", archive, "--target", root, "--force");
  return (await new Deno.Command("strace", { args, stdout: "null", stderr: "null" }).output()).code;
}

async function sh(cmd: string, ...args: string[]): Promise<void> {
  assert.equal((await new Deno.Command(cmd, { args }).output()).code, 0, `${cmd} ${args.join(" ")}`);
}

const rowsOf = async (db: string) => (await sqliteQuery(db, "SELECT count(*) FROM t")).trim();

Deno.test({
  name: "restore --db-only after a restore killed with server.yaml aside: rolled back first, configured path",
  ignore: !hasStrace,
  fn: async () => {
    const { src, dst, archive, yaml } = await setup();
    await killedRestore(archive, dst.root, yaml);
    const r = await runCli(["backup", "restore", archive, "--db-only", "--target", dst.root, "--force"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(yaml), YAML, "server.yaml rolled back");
    assert.equal(await rowsOf(join(dst.root, "db2/vigo.db")), "30", "the configured database restored");
    assert.ok(!(await exists(join(dst.root, "db/vigo.db"))), "a database where the server never looks");
    await Deno.remove(src.root, { recursive: true });
    await Deno.remove(dst.root, { recursive: true });
  },
});

Deno.test({
  name: "create after a restore killed with server.yaml aside rolls it back, then archives the old root",
  ignore: !hasStrace,
  fn: async () => {
    const { src, dst, archive, yaml } = await setup();
    await killedRestore(archive, dst.root, yaml);
    const dry = await runCli(["backup", "create", "--server-root", dst.root, "--dry-run"]);
    assert.match(dry.stderr, /a restore was interrupted here; the real create first rolls it back/);
    const out = join(dst.root, "snapshots", "after.tar.gz");
    const r = await runCli(["backup", "create", "--server-root", dst.root, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(yaml), YAML);
    assert.equal(await rowsOf(join(dst.root, "db2/vigo.db")), "80", "the old database is back");
    await Deno.remove(src.root, { recursive: true });
    await Deno.remove(dst.root, { recursive: true });
  },
});
