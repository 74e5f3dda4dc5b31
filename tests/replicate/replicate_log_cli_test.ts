/**
 * `backup replicate --log-format json --log-level debug`: every line is one JSON object with `time`
 * (RFC 3339), `level`, `msg` and snake_case fields, and debug adds one line per replica request; with
 * `--log-level warn` the informational events are gone (text format, Litestream's key=value lines).
 */
import assert from "node:assert/strict";
import { background, createWriterDb } from "../helpers/litestream.ts";
import { makeRoot, replicateCommand } from "./replicate_env.ts";

const ENV = { AWS_EC2_METADATA_DISABLED: "true" };

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("replicate: --log-format json --log-level debug; --log-level warn hides info", async () => {
  const r = await makeRoot();
  await createWriterDb(r.db);
  const [cmd, ...args] = replicateCommand(r);
  const bg = background(cmd, [...args, "--log-format", "json", "--log-level", "debug"], ENV);
  try {
    await bg.waitFor(/replication started/, 120_000);
    assert.equal(await bg.stop("SIGINT"), 0, bg.output());
  } finally {
    await bg.kill();
  }
  const lines = bg.output().split("\n").filter((l) => l.trim() !== "");
  const events = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      assert.fail(`not one JSON object per line: ${l}`);
    }
  });
  for (const e of events) {
    assert.match(String(e.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.ok(["debug", "info", "warn", "error"].includes(String(e.level)), JSON.stringify(e));
    assert.equal(typeof e.msg, "string");
    for (const k of Object.keys(e)) assert.match(k, /^[a-z0-9_]+$/, `snake_case key ${k}`);
  }
  const started = events.find((e) => e.msg === "replication started");
  assert.equal(started?.level, "info");
  assert.equal(typeof started?.sync_interval_ms, "number");
  assert.ok(
    events.some((e) => e.level === "debug" && /^put file:\/\/.*\/generations\//.test(String(e.msg))),
    `a debug line per request:\n${lines.join("\n")}`,
  );
  assert.ok(events.some((e) => e.msg === "replication stopped"));

  await Deno.remove(r.replicaDir, { recursive: true });
  const quiet = background(cmd, [...args, "--log-level", "warn"], ENV);
  try {
    // Nothing is logged at warn level: wait for the replica to be written instead.
    const end = Date.now() + 120_000;
    while (!(await exists(`${r.replicaDir}/generations`))) {
      if (Date.now() > end) assert.fail(`no replica after 120 s:\n${quiet.output()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(await quiet.stop("SIGINT"), 0, quiet.output());
  } finally {
    await quiet.kill();
  }
  assert.doesNotMatch(quiet.output(), /level=INFO|level=DEBUG/);
  await Deno.remove(r.root, { recursive: true });
});
