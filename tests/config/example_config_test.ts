/** The bundled example deployment (examples/srv-vigo) stays valid: config loads clean, demo secrets decrypt. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadServerConfig, requireSqlite } from "../../lib/config/server_yaml.ts";
import { SecretStore } from "../../lib/secrets/secret_store.ts";
import { REPO_ROOT } from "../helpers/cli.ts";

const ROOT = join(REPO_ROOT, "examples/srv-vigo");

Deno.test("examples/srv-vigo/server.yaml loads without warnings", async () => {
  const cfg = await loadServerConfig(join(ROOT, "server.yaml"), ROOT);
  requireSqlite(cfg);
  assert.deepEqual(cfg.warnings, []);
  assert.equal(cfg.database.path, join(ROOT, "db/vigo.db"));
  assert.equal(cfg.paths.snapshots, join(REPO_ROOT, "examples/out"));
  assert.equal(cfg.backup?.url, `file://${join(REPO_ROOT, "examples/out/replica")}`);
  assert.equal(cfg.backup?.retentionMs, 720 * 3_600_000);
});

Deno.test("the example's demo secrets decrypt with its demo master key", async () => {
  const store = new SecretStore(ROOT);
  assert.deepEqual(await store.list(), [
    "vigo/backup/aws_access_key",
    "vigo/backup/aws_secret_key",
    "vigo/envoy/enroll_token",
  ]);
  assert.equal(await store.get("vigo/backup/aws_access_key"), "AKIAVIGODEMO0EXAMPLE");
  assert.match(await store.get("vigo/backup/aws_secret_key"), /^demo\//);
});
