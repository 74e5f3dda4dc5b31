/**
 * Every `--json` output against the schemas in docs/json-output.md: each command is run for real, on
 * success and on failure, and what it prints must validate; each documented example must validate too,
 * so the document cannot describe a dialect the program does not speak.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Ajv } from "ajv";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const TIME = { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$" };

/** `## <command>` → its schema and example, read from the document. */
async function documentedSchemas(): Promise<Map<string, { schema: object; example: unknown }>> {
  const doc = await Deno.readTextFile(join(REPO_ROOT, "docs/json-output.md"));
  const out = new Map<string, { schema: object; example: unknown }>();
  for (const section of doc.split(/^## /m).slice(1)) {
    const name = section.split("\n")[0].trim();
    const block = (kind: string) => new RegExp("```json " + kind + "\\n([\\s\\S]*?)```").exec(section)?.[1];
    const schema = block("schema"), example = block("example");
    if (!schema || !example) continue;
    const withTime = JSON.parse(schema, (_k, v) => (v === "$time" ? TIME : v));
    out.set(name, { schema: withTime, example: JSON.parse(example) });
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false });

function check(schemas: Map<string, { schema: object }>, name: string, stdout: string): void {
  const entry = schemas.get(name);
  assert.ok(entry, `docs/json-output.md has no schema for ${name}`);
  const validate = ajv.compile(entry.schema);
  const value = JSON.parse(stdout);
  assert.ok(validate(value), `${name}: ${ajv.errorsText(validate.errors)}\n${stdout}`);
  // the dialect: no camelCase key anywhere
  const keys = JSON.stringify(value).match(/"[a-z0-9_]*[A-Z][A-Za-z0-9_]*":/g);
  assert.equal(keys, null, `${name}: camelCase keys ${keys}`);
}

Deno.test("json: every documented example validates against its schema", async () => {
  const schemas = await documentedSchemas();
  assert.ok(schemas.size >= 13, `only ${schemas.size} schemas`);
  for (const [name, { schema, example }] of schemas) {
    const validate = ajv.compile(schema);
    assert.ok(validate(example), `${name} example: ${ajv.errorsText(validate.errors)}`);
  }
});

Deno.test("json: every --json command's real output, success and failure, follows its schema", async () => {
  const schemas = await documentedSchemas();
  const fx = await makeServerRoot({ rows: 30 });
  const out = await Deno.makeTempDir();
  const remote = `file://${out}/remote`;
  const ok = async (name: string, args: string[]) => {
    const r = await runCli([...args, "--json"]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    check(schemas, name, r.stdout);
    return JSON.parse(r.stdout);
  };
  const fails = async (args: string[], code: number) => {
    const r = await runCli([...args, "--json"]);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    check(schemas, "error", r.stdout);
    return JSON.parse(r.stdout).error;
  };

  const made = await ok("backup create", ["backup", "create", ...fx.flags, `${remote}`]);
  assert.equal(made.path, null);
  const local = await ok("backup create", ["backup", "create", ...fx.flags]);
  await ok("backup create --dry-run", ["backup", "create", ...fx.flags, "--dry-run"]);
  await ok("backup list", ["backup", "list", ...fx.flags]);
  await ok("backup list --remote", ["backup", "list", "--remote", "--url", remote, ...fx.flags]);
  await ok("backup verify", ["backup", "verify", local.path]);
  await ok("backup restore", ["backup", "restore", local.path, "--target", fx.root, "--dry-run"]);
  await ok("backup prune", ["backup", "prune", ...fx.flags, "--keep", "5", "--dry-run"]);
  const pruned = await ok("backup prune", ["backup", "prune", ...fx.flags, "--keep", "5"]);
  assert.deepEqual(pruned.leftovers, []);
  const listed = JSON.parse((await runCli(["backup", "list", "--remote", "--url", remote, "--json"])).stdout);
  await Deno.mkdir(`${out}/dl`);
  await ok("backup download", ["backup", "download", listed[0].name, "--url", remote, "-o", `${out}/dl/`]);
  await ok("backup upload", ["backup", "upload", local.path, "--url", `file://${out}/uploaded`]);
  const replica = `file://${REPO_ROOT}tests/vectors/litestream/replica`;
  await ok("backup replica list", ["backup", "replica", "list", "--url", replica]);
  await ok("backup replica restore", ["backup", "replica", "restore", "--url", replica, "-o", `${out}/r.db`]);
  await Deno.writeTextFile(
    join(out, "crate.yaml"),
    `name: t\nresources:\n  - name: db\n    type: db_backup\n    db_type: sqlite\n    source_db: ${fx.db}\n` +
      `    target_path: ${out}/dumps\n`,
  );
  const crate = await ok("crate run", ["crate", "run", join(out, "crate.yaml"), "--now"]);
  const dump = join(out, "dumps", crate.resources[0].snapshot, crate.resources[0].stats.file);
  // The same window again: skipped, and what does not apply to a skip is null, not left out.
  const again = await ok("crate run", ["crate", "run", join(out, "crate.yaml")]);
  assert.equal(again.resources[0].status, "skipped");
  assert.deepEqual([again.resources[0].snapshot, again.resources[0].stats], [null, null]);
  await ok("crate restore-dump", ["crate", "restore-dump", dump, "-o", `${out}/d.db`]);
  await ok("snapshot list", ["snapshot", "list", `${out}/dumps`]);
  await ok("secret list", ["secret", "list", "--server-root", fx.root]);
  await ok("backup status", ["backup", "status", ...fx.flags]);
  await Deno.mkdir(`${out}/units`);
  await ok("backup install-units", [
    "backup",
    "install-units",
    ...fx.flags,
    "--dir",
    `${out}/units`,
    "--bin",
    "/bin/true",
  ]);

  // A command that printed its document before failing prints no error document too: one on stdout.
  await Deno.writeTextFile(
    join(out, "failing.yaml"),
    `name: f\nresources:\n  - name: db\n    type: db_backup\n    db_type: sqlite\n` +
      `    source_db: ${out}/gone.db\n    target_path: ${out}/dumps-f\n`,
  );
  const failedRun = await runCli(["crate", "run", join(out, "failing.yaml"), "--now", "--json"]);
  assert.equal(failedRun.code, 9, failedRun.stderr);
  check(schemas, "crate run", failedRun.stdout);

  // failures: the error document on stdout, the code of the table, the path it concerns
  const missing = await fails(["backup", "verify", `${out}/missing.tar.gz`], 9);
  assert.equal(missing.path, `${out}/missing.tar.gz`);
  await fails(["backup", "list", "--server-yaml", `${out}/nope.yaml`], 3);
  const taken = await fails(["backup", "upload", local.path, "--url", `file://${out}/uploaded`], 10);
  assert.match(taken.message, /already exists/);
  await fails(["backup", "replica", "restore", "--url", replica, "-o", `${out}/r.db`], 10);
  assert.equal((await fails(["backup", "verify"], 2)).path, null);
  // A relative path is the path too, colons and all (default archive names hold them).
  const relative = "vigo-backup-2026-01-01T00:00:00Z.tar.gz";
  const rel = await runCli(["backup", "verify", relative, "--json"], { cwd: out });
  assert.equal(rel.code, 9, rel.stderr);
  assert.equal(JSON.parse(rel.stdout).error.path, relative);
  // An encrypted archive and no password to be had: the failure names the archive.
  const encrypted = `${out}/enc.tar.gz`;
  const made2 = await runCli(["backup", "create", ...fx.flags, "--encrypt", encrypted], {
    env: { VIGO_BACKUP_PASSWORD: "correct horse" },
  });
  assert.equal(made2.code, 0, made2.stderr);
  const noPassword = await fails(["backup", "verify", encrypted], 6);
  assert.equal(noPassword.path, encrypted);
  assert.match(noPassword.message, /^\S+enc\.tar\.gz: no password: /);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(fx.root, { recursive: true });
});
