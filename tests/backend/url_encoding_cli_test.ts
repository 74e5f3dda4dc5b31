/**
 * A backend URL whose percent-encoding does not decode is a configuration error naming the URL
 * (exit 3), for every scheme; it was decodeURIComponent's "URI malformed", exit 1, naming nothing.
 * In a file:// URL a "#" or "?" is part of the path.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

Deno.test("replica list --url: a stray % or an encoded / in a backend URL → exit 3 naming the URL", async () => {
  const cases: [url: string, shown: string][] = [
    ["file:///var/tmp/x/50%/y", "file:///var/tmp/x/50%/y"],
    ["file:///var/tmp/a%2Fb", "file:///var/tmp/a%2Fb"],
    ["file:///var/tmp/%FF", "file:///var/tmp/%FF"],
    ["s3://bucket/50%", "s3://bucket/50%"],
    ["gcs://bucket/50%", "gcs://bucket/50%"],
    ["sftp://host/50%", "sftp://host/50%"],
    ["sftp://us%er@host/x", "sftp://us%er@host/x"],
    // The password is not valid encoding, and still not shown.
    ["sftp://vigo:hunter2%@host/x", "sftp://vigo@host/x"],
  ];
  for (const [url, shown] of cases) {
    const r = await runCli(["backup", "replica", "list", "--url", url]);
    assertEquals(r.code, 3, `${url}: ${r.stderr}`);
    assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert(r.stderr.startsWith(`vigocli: ${shown}: `), r.stderr);
    assert(!r.stderr.includes("hunter2"), r.stderr);
  }
});

Deno.test("a %25 in a file URL is a %; an archive name's lone % stays the name (restore URL)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-url-pct-" });
  try {
    await Deno.mkdir(`${dir}/50%/archives`, { recursive: true });
    const list = await runCli(["backup", "replica", "list", "--url", `file://${dir}/50%25`]);
    assertEquals(list.code, 0, list.stderr);
    assert(list.stdout.includes("no generations"), list.stdout);
    const url = `file://${dir}/50%25/archives/50%.tar.gz`;
    const restore = await runCli(["backup", "restore", url, "--target", `${dir}/t`, "--dry-run"]);
    assertEquals(restore.code, 9, restore.stderr);
    assert(restore.stderr.includes("50%.tar.gz: no such archive"), restore.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("create OUT=file://…: a # or ? is part of the directory name, as %23 and %3F are", async () => {
  const host = await makeServerRoot({ rows: 10 });
  const dir = await Deno.makeTempDir({ prefix: "vigo-url-hash-" });
  try {
    for (
      const [url, stored] of [
        [`file://${dir}/a#b`, `${dir}/a#b`],
        [`file://${dir}/c?d=1`, `${dir}/c?d=1`],
        [`file://${dir}/e%23f%3F`, `${dir}/e#f?`],
      ]
    ) {
      const r = await runCli(["backup", "create", ...host.flags, url, "--json"]);
      assertEquals(r.code, 0, `${url}: ${r.stderr}`);
      // Before, a URL parser cut the path at the "#" or "?": the archive went to dir/a and dir/c.
      const names = [...Deno.readDirSync(`${stored}/archives`)].map((e) => e.name);
      assertEquals(names.filter((n) => n.endsWith(".tar.gz")).length, 1, `${url}: ${names}`);
    }
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a#b", "c?d=1", "e#f?"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("an encrypted archive restored from a URL without a password: the line names the URL, not the download", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  const remote = await Deno.makeTempDir({ prefix: "vigo-url-pw-" });
  try {
    const pw = `${fx.root}/pw`;
    await Deno.writeTextFile(pw, "correct horse battery staple\n");
    await Deno.mkdir(`${remote}/archives`);
    const archive = `${remote}/archives/sealed.tar.gz`;
    const made = await runCli(["backup", "create", ...fx.flags, archive, "--encrypt", "--password-file", pw]);
    assertEquals(made.code, 0, made.stderr);
    const url = `file://${archive}`;
    const r = await runCli(["backup", "restore", url, "--target", `${remote}/t`]);
    assertEquals(r.code, 6, r.stderr);
    // It named .vigo-download-PID-…/sealed.tar.gz, removed by then.
    assert(r.stderr.startsWith(`vigocli: ${url}: no password`), r.stderr);
    assert(!r.stderr.includes(".vigo-download-"), r.stderr);
  } finally {
    await Deno.remove(remote, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});
