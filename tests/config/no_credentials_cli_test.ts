/**
 * The S3/GCS "no credentials" error says, in one line naming the files, what happened to server.yaml's
 * keys: there is no server.yaml, it has no keys, or its `secret:` value cannot be read because the store
 * has no master key. On a fresh host it never suggests `secret set`, which would make a NEW master key
 * when the old one is what opens the restored secrets. Before, it always began "tried server.yaml
 * backup.access_key_id" (even with no server.yaml) and passed on "create one with: vigocli secret set".
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

const KEYS = [
  '  access_key_id: "secret:vigo/backup/aws_access_key"',
  '  secret_access_key: "secret:vigo/backup/aws_secret_key"',
];

/** A server root with `lines` as its server.yaml (none when undefined) and sealed secrets, but no master key. */
function serverRoot(base: string, name: string, lines?: string[]): string {
  const root = join(base, name);
  mkdirSync(join(root, "secrets/vigo/backup"), { recursive: true });
  for (const s of ["aws_access_key", "aws_secret_key"]) {
    writeFileSync(join(root, "secrets/vigo/backup", s), "sealed on the old host\n");
  }
  if (lines) {
    writeFileSync(join(root, "server.yaml"), ["database:", "  driver: sqlite", ...lines, ""].join("\n"));
  }
  return root;
}

Deno.test("no credentials: one line that says what server.yaml gave and never suggests secret set", async () => {
  const base = await Deno.makeTempDir({ prefix: "vigo-nocreds-" });
  const home = join(base, "home");
  mkdirSync(home);
  // An empty environment: no keys, no profile, no instance role, and the GCE metadata host unreachable.
  const run = (args: string[]) =>
    runCli(args, {
      clearEnv: true,
      env: { HOME: home, AWS_EC2_METADATA_DISABLED: "true", GCE_METADATA_HOST: "127.0.0.1:1" },
    });
  const chain = "tried LITESTREAM_ACCESS_KEY_ID, AWS_ACCESS_KEY_ID, AWS profile default";
  const envRemedy = "set LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY or " +
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or give --credentials-file FILE with " +
    "access_key_id and secret_access_key\n";
  try {
    const none = serverRoot(base, "none");
    const noKeys = serverRoot(base, "nokeys", ["backup:", "  url: s3://bkt/vigo"]);
    const noBackup = serverRoot(base, "nobackup", []);
    const fresh = serverRoot(base, "fresh", ["backup:", "  url: s3://bkt/vigo", ...KEYS]);
    const gcs = serverRoot(base, "gcs", ["backup:", "  url: gcs://bkt/vigo", ...KEYS]);
    const key = (root: string) => join(root, "secrets/.master.key");
    const cases: [string[], string, string][] = [
      [
        ["backup", "list", "--remote", "--url", "s3://bkt/vigo", "--server-root", none],
        `vigocli: s3://bkt: no credentials: ${none}/server.yaml does not exist; ${chain}`,
        envRemedy,
      ],
      [
        ["backup", "replica", "list", "--url", "s3://bkt/vigo", "--server-root", none],
        `vigocli: s3://bkt: no credentials: ${none}/server.yaml not read (--url without --server-yaml); ${chain}`,
        envRemedy,
      ],
      [
        // Read, since --server-yaml was given: it has no backup: section (it was said to be "not read").
        [
          "backup",
          "replica",
          "list",
          "--url",
          "s3://bkt/vigo",
          "--server-yaml",
          join(noBackup, "server.yaml"),
          "--server-root",
          noBackup,
        ],
        `vigocli: s3://bkt: no credentials: ${noBackup}/server.yaml has no backup: section; ${chain}`,
        envRemedy,
      ],
      [
        ["backup", "replica", "list", "--server-root", noKeys],
        `vigocli: s3://bkt: no credentials: ${noKeys}/server.yaml has no backup.access_key_id/secret_access_key; ${chain}`,
        `set them in ${noKeys}/server.yaml, or ${envRemedy}`,
      ],
      [
        ["backup", "replica", "list", "--server-root", fresh],
        `vigocli: s3://bkt: no credentials: ${fresh}/server.yaml: backup.access_key_id: cannot resolve secret ` +
        `"vigo/backup/aws_access_key" (line 5): ${key(fresh)} is missing; ${chain}`,
        `put the old host's master key back (backup restore --master-key FILE, or copy it to ${
          key(fresh)
        }, mode 0600), or ${envRemedy}`,
      ],
      [
        ["backup", "replica", "list", "--server-root", gcs],
        `vigocli: ${gcs}/server.yaml: backup.access_key_id: cannot resolve secret "vigo/backup/aws_access_key" ` +
        `(line 5): ${key(gcs)} is missing; put the old host's master key back`,
        "or give --credentials-file FILE with access_key_id\n",
      ],
      [
        ["backup", "list", "--remote", "--url", "gcs://bkt/vigo", "--server-root", none],
        `vigocli: no Google credentials: ${none}/server.yaml does not exist; tried GOOGLE_APPLICATION_CREDENTIALS`,
        "set GOOGLE_APPLICATION_CREDENTIALS, or give --credentials-file FILE with access_key_id and " +
        "secret_access_key\n",
      ],
    ];
    for (const [args, start, end] of cases) {
      const r = await run(args);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(start), `${args.join(" ")}:\n${r.stderr}\nshould start\n${start}`);
      assert.ok(r.stderr.endsWith(end), `${args.join(" ")}:\n${r.stderr}\nshould end\n${end}`);
      assert.doesNotMatch(r.stderr, /secret set/);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
