import assert from "node:assert/strict";
import { ConfigError } from "../../lib/errors.ts";
import { parseServerYaml } from "../../lib/config/server_yaml_parse.ts";

const opts = {
  displayPath: "server.yaml",
  serverYamlPath: "/srv/vigo/server.yaml",
  serverRoot: "/srv/vigo",
  homeDir: "/home/op",
};
const parse = (text: string) => parseServerYaml(text, opts);

function assertConfigError(text: string, message: string | RegExp) {
  assert.throws(() => parse(text), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

Deno.test("defaults: empty file", () => {
  for (const text of ["", "# nothing\n", "---\n"]) {
    const { config, secretRefs } = parse(text);
    assert.deepEqual(config, {
      serverYamlPath: "/srv/vigo/server.yaml",
      serverRoot: "/srv/vigo",
      database: { driver: "sqlite", path: "/srv/vigo/db/vigo.db" },
      paths: { snapshots: "/srv/vigo/snapshots" },
      backup: undefined,
      warnings: [],
    });
    assert.deepEqual(secretRefs, []);
  }
});

Deno.test("the spec's backup example, with its defaults filled in", () => {
  const { config, secretRefs } = parse(`
backup:
  url: s3://my-bucket/vigo/backup
  access_key_id: "secret:vigo/backup/aws_access_key"
  secret_access_key: "secret:vigo/backup/aws_secret_key"
  region: us-east-1
  retention: "720h"       # 30 days (default)
  sync_interval: "1s"     # WAL sync frequency (default)
`);
  assert.deepEqual(config.backup, {
    url: "s3://my-bucket/vigo/backup",
    destination: {
      scheme: "s3",
      accessKeyId: "secret:vigo/backup/aws_access_key",
      secretAccessKey: "secret:vigo/backup/aws_secret_key",
      region: "us-east-1",
      endpoint: undefined,
      forcePathStyle: false,
    },
    retentionMs: 2_592_000_000,
    syncIntervalMs: 1_000,
    snapshotIntervalMs: 86_400_000,
    shutdownTimeoutMs: 10_000,
  });
  assert.deepEqual(secretRefs, [
    { field: "accessKeyId", keyPath: "backup.access_key_id", name: "vigo/backup/aws_access_key", line: 4 },
    {
      field: "secretAccessKey",
      keyPath: "backup.secret_access_key",
      name: "vigo/backup/aws_secret_key",
      line: 5,
    },
  ]);
  assert.deepEqual(config.warnings, []);
});

Deno.test("the spec's MinIO example", () => {
  const { config } = parse(`
backup:
  url: s3://vigo-backup/data
  endpoint: https://minio.internal:9000
  force_path_style: true
  access_key_id: "secret:vigo/backup/access_key"
  secret_access_key: "secret:vigo/backup/secret_key"
  snapshot_interval: 1h30m
`);
  const d = config.backup?.destination;
  assert.equal(d?.scheme, "s3");
  assert.equal(d.endpoint, "https://minio.internal:9000");
  assert.equal(d.forcePathStyle, true);
  assert.equal(config.backup?.snapshotIntervalMs, 5_400_000);
});

Deno.test("backup.shutdown_timeout: a Go duration, default 10s, > 0", () => {
  const { config } = parse("backup:\n  url: s3://bkt/p\n  shutdown_timeout: 2m30s\n");
  assert.equal(config.backup?.shutdownTimeoutMs, 150_000);
  assert.deepEqual(config.warnings, []);
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  shutdown_timeout: 0s\n",
    "server.yaml: backup.shutdown_timeout: must be greater than zero (line 3)",
  );
});

Deno.test("database and paths: relative paths resolve against the server root", () => {
  const { config } = parse(
    "database:\n  driver: sqlite\n  path: data/x.db\npaths:\n  snapshots: /var/backups/vigo\n",
  );
  assert.equal(config.database.path, "/srv/vigo/data/x.db");
  assert.equal(config.paths.snapshots, "/var/backups/vigo");
});

Deno.test("postgres is parsed (the backup commands refuse it later) and its keys are not warned about", () => {
  const { config } = parse("database:\n  driver: postgres\n  dsn: postgres://vigo@db/vigo\n");
  assert.equal(config.database.driver, "postgres");
  assert.deepEqual(config.warnings, []);
});

Deno.test("wrong types fail with the key path and the line", () => {
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  region: us-east-1\n  a: 1\n  b: 2\n  c: 3\n  force_path_style: yes\n",
    'server.yaml: backup.force_path_style: expected a boolean, got "yes" (line 7)',
  );
  assertConfigError(
    "database:\n  driver: mysql\n",
    'server.yaml: database.driver: expected "sqlite" or "postgres", got "mysql" (line 2)',
  );
  assertConfigError(
    "database:\n  path: 42\n",
    "server.yaml: database.path: expected a string, got number 42 (line 2)",
  );
  assertConfigError("database: sqlite\n", 'server.yaml: database: expected a mapping, got "sqlite" (line 1)');
  assertConfigError(
    "paths:\n  snapshots: [a, b]\n",
    "server.yaml: paths.snapshots: expected a string, got a list (line 2)",
  );
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  retention: 30d\n",
    /^server.yaml: backup.retention: invalid duration "30d": unknown unit "d".*\(line 3\)$/,
  );
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  sync_interval: 1\n",
    /backup.sync_interval: expected a duration string such as "720h" or "1s", got number 1 \(line 3\)/,
  );
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  sync_interval: 0s\n",
    "server.yaml: backup.sync_interval: must be greater than zero (line 3)",
  );
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  endpoint: minio:9000\n",
    /backup.endpoint: expected an http:\/\/ or https:\/\/ URL/,
  );
  assertConfigError("backup: 3\n", "server.yaml: backup: expected a mapping, got number 3 (line 1)");
  assertConfigError("- a\n- b\n", "server.yaml: expected a mapping at the top level (line 1)");
});

Deno.test("backup.url: required, and one of the four schemes", () => {
  assertConfigError(
    "backup:\n  region: x\n",
    "server.yaml: backup.url: required when a backup: section is present",
  );
  assertConfigError(
    "backup:\n  url:\n  region: x\n",
    "server.yaml: backup.url: required when a backup: section is present (line 2)",
  );
  assertConfigError(
    "backup:\n  url: ftp://h/p\n",
    /backup.url: unsupported scheme "ftp:\/\/" \(use s3, gcs, sftp, file\) \(line 2\)/,
  );
  assertConfigError("backup:\n  url: my-bucket\n", /backup.url: expected a URL such as/);
  assertConfigError("backup:\n  url: s3:///p\n", /backup.url: s3:\/\/ URL has no bucket/);
  assertConfigError("backup:\n  url: sftp://user@/p\n", /backup.url: sftp:\/\/ URL has no host/);
});

Deno.test("backup.url: what the backend would refuse on open is refused here, with the file and line", () => {
  for (
    const [url, problem] of [
      ["S3://vigo-backup/x", "S3://vigo-backup/x: expected s3://bucket/path"],
      ["s3://b/x", 's3://b/x: invalid bucket name "b"'],
      ["gcs://Vigo/x", 'gcs://Vigo/x: invalid bucket name "Vigo"'],
      [
        "s3://vigo-backup/50%",
        's3://vigo-backup/50%: not valid percent-encoding (write a literal "%" as %25)',
      ],
      ["sftp://vigo:pw%@nas/x", 'sftp://vigo@nas/x: not valid percent-encoding (write a literal "%" as %25)'],
      ["file:///mnt/50%/x", 'file:///mnt/50%/x: not valid percent-encoding (write a literal "%" as %25)'],
      ["file://50%/x", 'file:///srv/vigo/50%/x: not valid percent-encoding (write a literal "%" as %25)'],
      ["file:///mnt/a%2Fb", 'file:///mnt/a%2Fb: an encoded "/" (%2F) cannot be part of a file name'],
    ]
  ) {
    assertConfigError(
      `backup:\n  retention: 24h\n  url: ${url}\n`,
      `server.yaml: backup.url: ${problem} (line 3)`,
    );
  }
});

Deno.test("file:// URLs: absolute kept, relative resolved against the root", () => {
  assert.equal(parse("backup:\n  url: file:///mnt/nfs/vigo\n").config.backup?.url, "file:///mnt/nfs/vigo");
  assert.equal(parse("backup:\n  url: file://localhost/mnt/x\n").config.backup?.url, "file:///mnt/x");
  assert.equal(parse("backup:\n  url: file://replica\n").config.backup?.url, "file:///srv/vigo/replica");
  assert.equal(
    parse("backup:\n  url: file://../out/my%20replica\n").config.backup?.url,
    "file:///srv/out/my%20replica",
  );
  // The text is a literal path: "#", "?" and "\\" are part of a name, not a fragment, a query or a
  // separator, while "%" escapes are decoded.
  const underRoot = (url: string) =>
    parseServerYaml(`backup:\n  url: ${JSON.stringify(url)}\n`, { ...opts, serverRoot: "/srv/r oot" })
      .config.backup?.url;
  for (
    const [url, expected] of [
      ["file:///abs/a#b", "file:///abs/a%23b"],
      ["file:///abs/dir?x=1", "file:///abs/dir%3Fx=1"],
      ["file://rel#1", "file:///srv/r%20oot/rel%231"],
      ["file:///srv/back\\up", "file:///srv/back%5Cup"],
      ["file:///abs/tab\there", "file:///abs/tab%09here"],
      ["file:///abs/c|/x", "file:///abs/c%7C/x"],
      ["file:///c|/x", "file:///c%7C/x"],
      ["file:///abs/a%23b%20c", "file:///abs/a%23b%20c"],
      ["file://sub/%C3%A9t%C3%A9", "file:///srv/r%20oot/sub/%C3%A9t%C3%A9"],
      ["file:///abs/\ud800", "file:///abs/%EF%BF%BD"],
    ]
  ) {
    assert.equal(underRoot(url), expected, url);
  }
});

Deno.test("sftp fields: key_path and known_hosts_path resolve (~ is the home directory)", () => {
  const { config, secretRefs } = parse(
    "backup:\n  url: sftp://backup@nas:2222/vigo\n  key_path: ~/.ssh/id_ed25519\n  known_hosts_path: tls/known_hosts\n  password: secret:nas/password\n",
  );
  assert.deepEqual(config.backup?.destination, {
    scheme: "sftp",
    keyPath: "/home/op/.ssh/id_ed25519",
    password: "secret:nas/password",
    knownHostsPath: "/srv/vigo/tls/known_hosts",
  });
  assert.deepEqual(secretRefs.map((r) => r.keyPath), ["backup.password"]);
  assert.deepEqual(config.warnings, []);
});

Deno.test("unknown keys warn with line and suggestion, and do not fail", () => {
  const { config } = parse(
    "database:\n  driver: sqlite\n  pth: x.db\nbakup:\n  url: s3://bkt/p\nlisten: :8443\nbackup:\n  url: s3://bkt/p\n  retension: 1h\n",
  );
  assert.deepEqual(config.warnings, [
    'server.yaml: bakup: unknown key, ignored (line 4) (did you mean "backup"?)',
    'server.yaml: database.pth: unknown key, ignored (line 3) (did you mean "path"?)',
    'server.yaml: backup.retention: unknown key, ignored (line 9) (did you mean "retention"?)'.replace(
      "backup.retention",
      "backup.retension",
    ),
  ]);
});

Deno.test("plain-text credentials and fields the scheme ignores are warned about", () => {
  const { config, secretRefs } = parse(
    "backup:\n  url: file:///x\n  secret_access_key: hunter2\n  key_path: /k\n",
  );
  assert.deepEqual(secretRefs, []);
  // A destination keeps only its own settings: the ignored key's value is not carried along.
  assert.deepEqual(config.backup?.destination, { scheme: "file" });
  assert.equal(config.warnings.length, 2);
  assert.ok(!config.warnings.join("\n").includes("hunter2"), "a warning leaked the value");
  assert.match(config.warnings[0], /backup.secret_access_key: not used by file:\/\/ destinations/);
  assert.match(config.warnings[1], /backup.key_path: not used by file:\/\/ destinations \(line 4\)/);
  const s3 = parse("backup:\n  url: s3://bkt/p\n  secret_access_key: hunter2\n  key_path: /k\n").config;
  assert.equal(s3.warnings.length, 2);
  assert.match(
    s3.warnings[0],
    /backup.secret_access_key: stored in plain text \(line 3\); prefer "secret:NAME"/,
  );
  assert.match(s3.warnings[1], /backup.key_path: not used by s3:\/\/ destinations \(line 4\)/);
  assert.ok(!s3.warnings.join("\n").includes("hunter2"), "a warning leaked the value");
});

Deno.test("invalid secret names are rejected at parse time", () => {
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  access_key_id: secret:../../etc/shadow\n",
    /backup.access_key_id: invalid secret name "..\/..\/etc\/shadow": ".." segments are not allowed \(line 3\)/,
  );
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  access_key_id: secret:/abs\n",
    /absolute names are not allowed/,
  );
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n  access_key_id: 'secret:'\n",
    /invalid secret name "": empty name/,
  );
});

Deno.test("invalid YAML reports line and column", () => {
  assertConfigError(
    "backup:\n  url: s3://bkt/p\n   region: x\n",
    /^server.yaml: invalid YAML: .*\(line \d+, column \d+\)$/,
  );
  assertConfigError(
    "backup:\n  url: a\n  url: b\n",
    /^server.yaml: invalid YAML: Map keys must be unique.*\(line 3, column 3\)$/,
  );
});

Deno.test("aliases are followed", () => {
  const { config } = parse("x: &dur 2h\nbackup:\n  url: s3://bkt/p\n  retention: *dur\n");
  assert.equal(config.backup?.retentionMs, 7_200_000);
});

Deno.test("backup.addr: HOST:PORT for /metrics, anything else fails with the line", () => {
  const yaml = (addr: string) => `backup:\n  url: file:///r\n  addr: ${JSON.stringify(addr)}\n`;
  assert.equal(parse(yaml("127.0.0.1:9090")).config.backup?.addr, "127.0.0.1:9090");
  assert.equal(parse(yaml("[::1]:9090")).config.backup?.addr, "[::1]:9090");
  // inet_aton's short forms bind (0 is 0.0.0.0, 127.1 is 127.0.0.1), so they are addresses too.
  assert.equal(parse(yaml("0:9090")).config.backup?.addr, "0:9090");
  assert.equal(parse(yaml("127.1:9090")).config.backup?.addr, "127.1:9090");
  assertConfigError(yaml("1.2.3.4.5:9090"), /backup\.addr: "1\.2\.3\.4\.5" is not an IPv4 address.*line 3/);
  assert.equal(parse("backup:\n  url: file:///r\n").config.backup?.addr, undefined);
  assertConfigError(yaml("9090"), /backup\.addr: expected HOST:PORT .*line 3/);
  assertConfigError(yaml("127.0.0.1:70000"), /backup\.addr: port 70000 out of range \(0-65535\).*line 3/);
  assertConfigError(yaml("256.1.1.1:9090"), /backup\.addr: "256\.1\.1\.1" is not an IPv4 address.*line 3/);
  assertConfigError(yaml("[fe80::zz]:9090"), /backup\.addr: "fe80::zz" is not an IPv6 address.*line 3/);
});
