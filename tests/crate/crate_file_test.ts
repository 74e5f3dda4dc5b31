/** Crate parsing: defaults, validation messages naming resource and parameter, vars, --root. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { loadCrateFile, parseCrate } from "../../lib/crate/crate_file.ts";
import { configcrateFiles, CONFIGCRATES_DIR } from "../../lib/crate/configcrates.ts";
import { ConfigError } from "../../lib/errors.ts";

const EXAMPLES = fileURLToPath(new URL("../../examples/crates/", import.meta.url));

function configError(text: string, ...fragments: string[]) {
  assert.throws(() => parseCrate(text, "/etc/c.yaml"), (e) => {
    assert.ok(e instanceof ConfigError, String(e));
    for (const f of fragments) assert.ok(e.message.includes(f), `${e.message} lacks ${f}`);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
}

Deno.test("spec defaults: retain 30, schedule daily, cross_fs fail, min_free_space 1G", () => {
  const c = parseCrate(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t}\n",
    "/c.yaml",
  );
  const r = c.resources[0];
  assert.equal(r.type, "backup");
  if (r.type !== "backup") return;
  assert.equal(r.retainDays, 30);
  assert.equal(r.schedule, "daily");
  assert.equal(r.crossFs, "fail");
  assert.equal(r.minFreeBytes, 2 ** 30);
  assert.deepEqual(r.exclude, []);
  assert.equal(r.preCommand, undefined);
});

Deno.test("unknown type or parameter names the resource and the parameter", () => {
  configError(
    "name: x\nresources:\n  - {name: b, type: rsync, source_dir: /s, target_path: /t}\n",
    "/etc/c.yaml",
    'resource "b"',
    "unknown type",
    "rsync",
  );
  configError(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t, retian: 5}\n",
    'resource "b"',
    'unknown parameter "retian"',
  );
  configError(
    "name: x\nresources:\n  - {name: d, type: db_backup, source_db: /s.db, target_path: /t, exclude: '*.log'}\n",
    'resource "d"',
    '"exclude"',
  );
  configError(
    "name: x\nresources:\n  - {name: b, type: backup, target_path: /t}\n",
    'resource "b"',
    "source_dir",
  );
  configError(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t, schedule: monthly}\n",
    "schedule",
    "monthly",
  );
  configError(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t, cross_fs: maybe}\n",
    "cross_fs",
  );
  configError(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t, min_free_space: lots}\n",
    "min_free_space",
  );
  configError(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t, retain: -3}\n",
    "retain",
  );
  configError(
    "name: x\nresources:\n  - {name: d, type: db_backup, db_type: postgres, source_db: /s, target_path: /t}\n",
    "db_type",
  );
  configError("name: x\nresourcse: []\n", "resourcse");
  configError("name: x\nresources: [\n", "invalid YAML");
  configError(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t}\n" +
      "  - {name: b, type: backup, source_dir: /s, target_path: /u}\n",
    "duplicate",
  );
});

Deno.test("vars are substituted; unknown vars and undeclared overrides are errors", () => {
  const text = 'name: x\nvars: {keep: "90", root: /srv}\nresources:\n' +
    '  - {name: b, type: backup, source_dir: "{{ root }}/vigo", target_path: /t, retain: "{{keep}}"}\n';
  const c = parseCrate(text, "/c.yaml");
  assert.equal(c.resources[0].retainDays, 90);
  assert.equal((c.resources[0] as { sourceDir: string }).sourceDir, "/srv/vigo");
  assert.equal(parseCrate(text, "/c.yaml", { vars: { keep: "7" } }).resources[0].retainDays, 7);
  assert.throws(() => parseCrate(text, "/c.yaml", { vars: { kepe: "7" } }), /kepe/);
  configError(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: '{{ nope }}', target_path: /t}\n",
    'resource "b"',
    "source_dir",
    'unknown var "nope"',
  );
});

Deno.test("exclude: a comma-separated string or a YAML list", () => {
  const a = parseCrate(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t, exclude: '*.log, tmp'}\n",
    "/c.yaml",
  );
  const b = parseCrate(
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /s, target_path: /t, exclude: ['*.log', tmp]}\n",
    "/c.yaml",
  );
  assert.deepEqual((a.resources[0] as { exclude: string[] }).exclude, ["*.log", "tmp"]);
  assert.deepEqual((b.resources[0] as { exclude: string[] }).exclude, ["*.log", "tmp"]);
});

Deno.test("--root rebases absolute paths; relative paths resolve against the crate file", () => {
  const text =
    "name: x\nresources:\n  - {name: b, type: backup, source_dir: /srv/vigo, target_path: rel/t}\n";
  const c = parseCrate(text, "/tmp/drill/crates/c.yaml", { root: "/tmp/drill" });
  const r = c.resources[0] as { sourceDir: string; targetPath: string };
  assert.equal(r.sourceDir, "/tmp/drill/srv/vigo");
  assert.equal(r.targetPath, "/tmp/drill/crates/rel/t");
  assert.equal(parseCrate(text, "/etc/crates/c.yaml").resources[0].targetPath, "/etc/crates/rel/t");
});

Deno.test("the shipped example crates parse", () => {
  const backups = loadCrateFile(`${EXAMPLES}backups.yaml`);
  assert.deepEqual(backups.resources.map((r) => [r.name, r.type, r.retainDays]), [
    ["srv-vigo-backup", "backup", 14],
    ["vigo-db-backup", "db_backup", 14],
    ["sandgorgon-db-backup", "db_backup", 14],
  ]);
  const server = loadCrateFile(`${EXAMPLES}vigo-server-backup.yaml`, { vars: { backup_retain: "90" } });
  assert.equal(server.name, "vigo-server-backup");
  assert.ok(server.resources.every((r) => r.retainDays === 90));
  assert.equal(loadCrateFile(`${EXAMPLES}vigo-server-backup.yaml`).resources[0].retainDays, 30);
});

Deno.test("skipOtherExecutors: the server's other executors are left out, ours still validated", () => {
  const mixed = "name: x\nresources:\n  - {name: p, type: package, package: nginx}\n" +
    "  - {name: b, type: backup, source_dir: /s, target_path: /t}\n  - {type: backup, source_dir: /s}\n";
  configError(mixed, 'resource "p": unknown type "package"');
  assert.throws(
    () => parseCrate(mixed, "/c.yaml", { skipOtherExecutors: true }),
    // The index is the resource's place in the file, not among the kept ones.
    (e) => e instanceof ConfigError && e.message.includes("resources[2]: name: required"),
  );
  const kept = parseCrate(mixed.split("\n").slice(0, 4).join("\n"), "/c.yaml", { skipOtherExecutors: true });
  assert.deepEqual(kept.resources.map((r) => r.name), ["b"]);
  for (const other of ["name: n\nresources:\n  - {name: p, type: package}\n", "- a list\n", "other: 1\n"]) {
    assert.deepEqual(parseCrate(other, "/c.yaml", { skipOtherExecutors: true }).resources, [], other);
  }
});

Deno.test("configcrateFiles: *.yaml and *.yml below stacks/configcrates, hidden names skipped, none without it", () => {
  const root = Deno.makeTempDirSync();
  try {
    assert.deepEqual(configcrateFiles(root), []);
    const dir = join(root, CONFIGCRATES_DIR);
    Deno.mkdirSync(join(dir, "sub"), { recursive: true });
    Deno.mkdirSync(join(dir, ".git"));
    for (const f of ["a.yaml", "sub/b.yml", "c.txt", ".a.yaml.tmp-1.yaml", ".git/d.yaml"]) {
      Deno.writeTextFileSync(join(dir, f), "");
    }
    assert.deepEqual(configcrateFiles(root), [join(dir, "a.yaml"), join(dir, "sub/b.yml")]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
