/**
 * The secret-leak check itself (tests/helpers/leak_check.ts, run by scripts/test.ts over every CLI
 * run of a phase): it must find a planted leak in a real CLI run's output in any encoding, spare the
 * outputs that print a secret by design, and the environment our code gives a child process (a crate
 * hook, which prints it here) must not carry the secrets vigocli received.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { describeLeak, findLeaks } from "../helpers/leak_check.ts";
import {
  ARCHIVE_PASSWORD,
  S3_SECRET_ACCESS_KEY,
  STORED_SECRET_KEY,
  TEST_SECRETS,
} from "../helpers/test_secrets.ts";
import { readTranscripts, TRANSCRIPT_ENV } from "../helpers/transcript.ts";
import { backupCrate, scratch, writeTree } from "../crate/fixture.ts";

const PLANTED = { name: "planted", value: "planted/leak 7f3a9c" };

/** Runs `f` with the transcript directed to a fresh directory; returns the runs it recorded. */
async function recorded(f: () => Promise<unknown>) {
  const dir = await Deno.makeTempDir({ prefix: "vigo-leak-" });
  const before = Deno.env.get(TRANSCRIPT_ENV);
  Deno.env.set(TRANSCRIPT_ENV, dir);
  try {
    await f();
    return readTranscripts(dir);
  } finally {
    if (before === undefined) Deno.env.delete(TRANSCRIPT_ENV);
    else Deno.env.set(TRANSCRIPT_ENV, before);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("leak check: a secret planted in a real CLI error message is found", async () => {
  const runs = await recorded(() => runCli(["backup", "verify", `/nonexistent/${PLANTED.value}.tar.gz`]));
  assert.equal(runs.length, 1, "the run was recorded");
  const leaks = findLeaks(runs, [PLANTED]);
  assert.equal(leaks.length, 1, JSON.stringify(runs));
  assert.equal(leaks[0].stream, "stderr");
  assert.ok(!leaks[0].command.includes(PLANTED.value), "the report masks the secret");
  assert.deepEqual(findLeaks(runs), [], "no registered secret in that run");
});

Deno.test("leak check: every encoding is caught; secret get and --with-secrets stdout are exempt", () => {
  const v = PLANTED.value;
  const b64 = btoa(v).replace(/=+$/, "");
  const hex = Array.from(new TextEncoder().encode(v), (b) => b.toString(16).padStart(2, "0")).join("");
  const run = (argv: string[], stdout: string, stderr = "") => ({
    argv,
    stdout,
    stderr,
    recorder: "t",
    file: "f",
  });
  const runs = [
    run(["backup", "list"], `{"note":"${v}"}`),
    run(["backup", "list"], `url=s3://b/${encodeURIComponent(v)}`),
    run(["backup", "list"], b64),
    run(["backup", "list"], hex),
    run(["secret", "get", "x"], v), // by design
    run(["secret", "get", "x"], "", `error: ${v}`), // stderr is never exempt
    run(["backup", "replica", "litestream-config", "--with-secrets"], v), // by design
    run(["backup", "list"], "nothing here"),
  ];
  const leaks = findLeaks(runs, [PLANTED]);
  assert.deepEqual(leaks.map((l) => `${l.encoding}/${l.stream}`), [
    "raw/stdout",
    "url/stdout",
    "base64/stdout",
    "hex/stdout",
    "raw/stderr",
  ]);
});

Deno.test("leak check: the registry holds the suite's secrets, each distinctive", () => {
  for (const s of [ARCHIVE_PASSWORD, S3_SECRET_ACCESS_KEY, STORED_SECRET_KEY]) {
    assert.ok(TEST_SECRETS.some((t) => t.value === s));
  }
  for (const s of TEST_SECRETS) assert.ok(s.value.length >= 8, `${s.name} is too short to match reliably`);
});

Deno.test("child processes: a crate hook sees neither the archive password nor the replica key", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src");
    writeTree(src, { "a.txt": "a" });
    const crate = backupCrate(join(s.dir, "c.yaml"), src, join(s.dir, "target"), [
      `pre_command: 'printf "argv: %s\\n" "$0" "$@"; env'`,
    ]);
    const runs = await recorded(() =>
      runCli(["crate", "run", crate], {
        env: {
          VIGO_NOW: "2026-03-13T02:00:00Z",
          VIGO_BACKUP_PASSWORD: ARCHIVE_PASSWORD,
          LITESTREAM_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
        },
      })
    );
    assert.equal(runs.length, 1);
    assert.match(runs[0].stderr, /VIGO_RESOURCE=files/, "the hook ran and printed its environment");
    assert.deepEqual(findLeaks(runs).map(describeLeak), []);
  } finally {
    s.cleanup();
  }
});
