/**
 * `vigocli backup drill` as shipped: exit 0 and a JSON report on a healthy deployment; exit 8 naming
 * the failed paths when server.yaml's `backup.drill.max_age` is exceeded; the Argon2id cost cap of an
 * encrypted archive, and the flags that raise it; a pipe reader that stops early does not cost the report;
 * drills run back to back or at once each keep their own report.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { Ajv } from "ajv";
import { cliCommand, REPO_ROOT, runCli } from "../helpers/cli.ts";
import { costlyHeader } from "../crypto/helpers.ts";
import { makeDeployment } from "./fixture.ts";
import { archiveFileName, timeFromArchiveName } from "../../lib/archive/archive_names.ts";

/** The `## backup drill` schema of docs/json-output.md. */
function drillSchema(): object {
  const doc = readFileSync(join(REPO_ROOT, "docs/json-output.md"), "utf8");
  const section = doc.split(/^## backup drill$/m)[1].split(/^## /m)[0];
  const time = { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$" };
  const text = /```json schema\n([\s\S]*?)```/.exec(section)![1];
  return JSON.parse(text, (_k, v) => (v === "$time" ? time : v));
}

Deno.test("backup drill: exit 0 when healthy, 8 beyond the configured max age", async () => {
  const d = await makeDeployment();
  try {
    const flags = ["--server-root", d.root];
    const ok = await runCli(["backup", "drill", "--json", ...flags]);
    assert.equal(ok.code, 0, ok.stderr);
    const report: { ok: boolean; paths: Record<string, unknown>; report_path: string } = JSON.parse(
      ok.stdout,
    );
    const validate = new Ajv({ strict: false }).compile(drillSchema());
    assert.ok(validate(JSON.parse(ok.stdout)), JSON.stringify(validate.errors));
    assert.equal(report.ok, true);
    assert.deepEqual(Object.values(report.paths).map((p) => (p as { status: string }).status), [
      "pass",
      "pass",
      "pass",
    ]);
    assert.deepEqual(JSON.parse(readFileSync(report.report_path, "utf8")).paths, report.paths);

    writeFileSync(d.serverYaml, readFileSync(d.serverYaml, "utf8") + "  drill:\n    max_age: 1ms\n");
    const old = await runCli(["backup", "drill", ...flags]);
    assert.equal(old.code, 8, old.stderr);
    assert.match(old.stdout, /^snapshot +fail .*more than the max age 1ms/m);
    assert.match(
      old.stderr,
      /^vigocli: .*drill-\d{8}T\d{6}Z(_\d{3})?\.json: drill failed: archive, snapshot$/m,
    );
  } finally {
    d.cleanup();
  }
});

Deno.test("backup drill: an encrypted archive asking for costly Argon2id fails the archive path; --max-kdf-* raise the cap", async () => {
  const d = await makeDeployment();
  try {
    // The newest archive becomes an encrypted header demanding 1 GiB × 64 passes, with a matching sidecar.
    const bytes = costlyHeader(1048576, 64);
    writeFileSync(d.archive, bytes);
    const name = d.archive.split("/").pop();
    writeFileSync(`${d.archive}.sha256`, `${createHash("sha256").update(bytes).digest("hex")}  ${name}\n`);
    const env = { VIGO_BACKUP_PASSWORD: "pw" };
    const flags = ["--json", "--server-root", d.root];
    // A failed drill prints its report, and only it: stdout is one JSON document (docs/json-output.md).
    const archivePath = (stdout: string) =>
      (JSON.parse(stdout) as { paths: { archive: { status: string; message: string } } }).paths.archive;

    const capped = await runCli(["backup", "drill", ...flags], { env });
    assert.equal(capped.code, 8, capped.stderr);
    assert.equal(archivePath(capped.stdout).status, "fail");
    assert.match(archivePath(capped.stdout).message, /1024 MiB × 64 passes, above the limit of 256 MiB × 10/);

    const raised = await runCli(["backup", "drill", ...flags, "--max-kdf-memory", "1024"], { env });
    assert.equal(raised.code, 8, raised.stderr);
    assert.match(archivePath(raised.stdout).message, /above the limit of 1024 MiB × 10/);

    const bad = await runCli(["backup", "drill", ...flags, "--max-kdf-iterations", "65"], { env });
    assert.equal(bad.code, 2, bad.stderr);
  } finally {
    d.cleanup();
  }
});

Deno.test("backup drill | grep -q: a reader that stops at the first line no longer stops the drill before its report", async () => {
  const d = await makeDeployment();
  try {
    const drills = join(d.snapshots, "drills");
    const reports = () => [...Deno.readDirSync(drills)].filter((e) => e.name.endsWith(".json")).length;
    const first = await runCli(["backup", "drill", "--server-root", d.root]);
    assert.equal(first.code, 0, first.stderr);
    const before = reports();
    // `head -c 0` reads nothing and exits: the first line meets a closed pipe. Each path's line used to be
    // printed as it finished, so the drill died (141) at the first one and wrote no report.
    const piped = await new Deno.Command("bash", {
      args: [
        "-c",
        `"$@" | head -c 0; echo "\${PIPESTATUS[0]}"`,
        "bash",
        ...cliCommand(),
        "backup",
        "drill",
        "--server-root",
        d.root,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const status = new TextDecoder().decode(piped.stdout).trim();
    assert.ok(status === "0" || status === "141", `${status}: ${new TextDecoder().decode(piped.stderr)}`);
    assert.equal(reports(), before + 1, "the report was written");
  } finally {
    d.cleanup();
  }
});

Deno.test("backup drill: two drills started together each keep their own report", async () => {
  const d = await makeDeployment();
  try {
    // Started together they often share a second, whose report name they both took before _002 …
    // existed (the later report replaced the earlier); drill_report_test.ts pins the one-second case.
    const runs = await Promise.all(
      [0, 1].map(() => runCli(["backup", "drill", "--json", "--server-root", d.root])),
    );
    const paths = runs.map((r) => {
      assert.equal(r.code, 0, r.stderr);
      const report: { started_at: string; report_path: string } = JSON.parse(r.stdout);
      assert.equal(JSON.parse(readFileSync(report.report_path, "utf8")).started_at, report.started_at);
      return report.report_path;
    });
    assert.notEqual(paths[0], paths[1]);
  } finally {
    d.cleanup();
  }
});

Deno.test("backup drill: a damaged newest archive fails the archive path, not an older one passing in its place; list shows it, prune spares it", async () => {
  const d = await makeDeployment();
  try {
    const flags = ["--server-root", d.root];
    // A second after the good archive: the newest, and not dated in the future (which a drill passes over).
    const damaged = join(
      d.snapshots,
      archiveFileName(new Date(timeFromArchiveName(basename(d.archive))!.getTime() + 1000)),
    );
    const bytes = readFileSync(d.archive);
    bytes[0] = 0;
    writeFileSync(damaged, bytes);
    const drill = await runCli(["backup", "drill", "--json", ...flags]);
    assert.equal(drill.code, 8, drill.stderr);
    const archive = JSON.parse(drill.stdout).paths.archive;
    assert.equal(archive.status, "fail", JSON.stringify(archive));
    assert.equal(archive.detail.name, basename(damaged));

    writeFileSync(damaged, new Uint8Array());
    const list = await runCli(["backup", "list", "--json", ...flags]);
    assert.equal(list.code, 0, list.stderr);
    const rows: { name: string; encrypted: boolean | null }[] = JSON.parse(list.stdout);
    assert.deepEqual(rows.map((r) => [r.name, r.encrypted]), [[basename(damaged), null], [
      basename(d.archive),
      false,
    ]]);
    assert.ok(
      list.stderr.includes(`${basename(damaged)}: neither a gzip nor an encrypted archive`),
      list.stderr,
    );
    const prune = await runCli(["backup", "prune", "--keep", "1", ...flags]);
    assert.equal(prune.code, 0, prune.stderr);
    for (const f of [damaged, d.archive]) assert.ok(existsSync(f), `${f} deleted`);
  } finally {
    d.cleanup();
  }
});

Deno.test("backup drill: the archive path passes over an archive dated in the future", async () => {
  const d = await makeDeployment();
  try {
    // The same archive named about five years ahead, as a create on a host whose clock ran ahead names
    // it: taken as the newest, it was restored in place of the archive with the newest data.
    const ahead = join(
      d.snapshots,
      basename(d.archive).replace(/^vigo-backup-\d{4}/, (m) => `vigo-backup-${Number(m.slice(-4)) + 5}`),
    );
    writeFileSync(ahead, readFileSync(d.archive));
    const r = await runCli(["backup", "drill", "--json", "--server-root", d.root]);
    const archive = JSON.parse(r.stdout).paths.archive;
    assert.equal(archive.status, "pass", r.stderr);
    assert.equal(archive.detail.name, basename(d.archive));
  } finally {
    d.cleanup();
  }
});
