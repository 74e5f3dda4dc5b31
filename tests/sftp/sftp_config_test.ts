/** sftp:// URL and option parsing, and the retention decision for archives (both pure). */
import { planRetention } from "../../lib/archive/archive_retention.ts";
import assert from "node:assert/strict";
import { ConfigError, UsageError } from "../../lib/errors.ts";
import { parseSftpConfig, redactPassword } from "../../lib/backend/sftp/config.ts";
import { assertEquals, assertRejects } from "../backend/assert.ts";

const env = { homeDir: "/home/op", userName: "op" };

Deno.test("sftp config: user, port and path defaults; options override; ~ expands", () => {
  const c = parseSftpConfig("sftp://backup.example.com/srv/vigo", {}, env);
  assertEquals([c.host, c.port, c.user, c.root], ["backup.example.com", 22, "op", "/srv/vigo"]);
  assertEquals(c.knownHostsPath, "/home/op/.ssh/known_hosts");
  assertEquals(c.defaultKeyPaths, [
    "/home/op/.ssh/id_ed25519",
    "/home/op/.ssh/id_ecdsa",
    "/home/op/.ssh/id_rsa",
  ]);
  assertEquals(c.keyPath, undefined);
  const d = parseSftpConfig(
    "sftp://vigo@10.0.0.5:2222/backups/dir%20x/",
    { keyPath: "~/.ssh/vigo_key", knownHostsPath: "/etc/vigo/known_hosts", password: "pw" },
    { ...env, sshAuthSock: "/run/agent.sock" },
  );
  assertEquals([d.host, d.port, d.user, d.root], ["10.0.0.5", 2222, "vigo", "/backups/dir x"]);
  assertEquals([d.keyPath, d.knownHostsPath, d.password, d.agentSocket], [
    "/home/op/.ssh/vigo_key",
    "/etc/vigo/known_hosts",
    "pw",
    "/run/agent.sock",
  ]);
  assertEquals(parseSftpConfig("sftp://[::1]:2200/x", {}, env).host, "::1");
});

Deno.test("sftp config: without a home directory or login name, what is needed is named", () => {
  const none = { homeDir: undefined, userName: undefined };
  const c = parseSftpConfig("sftp://vigo@host/x", { knownHostsPath: "/etc/vigo/known_hosts" }, none);
  assertEquals([c.user, c.knownHostsPath, c.defaultKeyPaths], ["vigo", "/etc/vigo/known_hosts", []]);
  assert.throws(
    () => parseSftpConfig("sftp://vigo@host/x", {}, none),
    (e) =>
      e instanceof ConfigError &&
      /^sftp:\/\/vigo@host\/x: ~\/\.ssh\/known_hosts: no home directory \(HOME is unset .*; set known_hosts_path$/
        .test(e.message),
  );
  assert.throws(
    () => parseSftpConfig("sftp://host/x", { knownHostsPath: "/k" }, none),
    (e) =>
      e instanceof ConfigError &&
      /sftp:\/\/host\/x: no user name to log in as .*sftp:\/\/USER@host\/x$/.test(e.message),
  );
  assert.throws(
    () => parseSftpConfig("sftp://vigo@host/x", { knownHostsPath: "/k", keyPath: "~/.ssh/k" }, none),
    (e) => e instanceof ConfigError && e.message.includes("~/.ssh/k: no home directory"),
  );
});

Deno.test("sftp config: a password in the URL is used but never shown", () => {
  const c = parseSftpConfig("sftp://vigo:s3cret@host/x", {}, env);
  assertEquals(c.password, "s3cret");
  assertEquals(c.displayUrl.includes("s3cret"), false);
  assertEquals(redactPassword("sftp://vigo:s3cret@host/x"), "sftp://vigo@host/x");
});

Deno.test("sftp config: bad URLs are ConfigErrors", async () => {
  for (const bad of ["sftp:///no-host", "s3://bucket/x", "sftp://host/x?opt=1", "not a url"]) {
    await assertRejects(() => parseSftpConfig(bad, {}, env), ConfigError);
  }
});

Deno.test("sftp config: a ? or # anywhere is refused saying how to write it; %23 and %3F are a name's", () => {
  // A bare "?" or "#" left the parsed search and hash empty and cut the path: sftp://host/srv/a# was /srv/a.
  for (
    const [bad, hint] of [
      ["sftp://host/srv/a#", "%23"],
      ["sftp://host/srv/a?", "%3F"],
      ["sftp://host/srv/a#b", "%23"],
      ["sftp://vigo:pa#ss@host/x", "%23"],
    ]
  ) {
    let err: unknown;
    try {
      parseSftpConfig(bad, {}, env);
    } catch (e) {
      err = e;
    }
    assertEquals(err instanceof ConfigError, true, bad);
    const message = (err as Error).message;
    assertEquals(message.includes(` as ${hint})`), true, message);
    assertEquals(message.includes("pa#ss"), false, message);
  }
  assertEquals(parseSftpConfig("sftp://host/srv/a%23b%3Fc", {}, env).root, "/srv/a#b?c");
});

Deno.test("retention: --keep N keeps the newest N; age-based keeps the newest always", () => {
  const now = new Date("2026-03-31T00:00:00Z");
  const day = 86_400_000;
  const archives = [3, 40, 1, 35].map((d) => ({ name: `a${d}`, time: new Date(now.getTime() - d * day) }));
  const keep2 = planRetention(archives, { keep: 2, now });
  assertEquals(keep2.map((d) => [d.archive.name, d.action]), [
    ["a1", "keep"],
    ["a3", "keep"],
    ["a35", "delete"],
    ["a40", "delete"],
  ]);
  const byAge = planRetention(archives, { maxAgeMs: 30 * day, now });
  assertEquals(byAge.filter((d) => d.action === "delete").map((d) => d.archive.name), ["a35", "a40"]);
  const allOld = planRetention(archives.slice(1, 2), { maxAgeMs: 30 * day, now });
  assertEquals(allOld.map((d) => d.action), ["keep"], "the only (old) archive is never pruned");
  // A library caller's keep of 0 or NaN deleted every archive, the newest too.
  for (const keep of [0, -1, 1.5, NaN]) {
    assert.throws(() => planRetention(archives, { keep, now }), UsageError, `keep ${keep}`);
  }
});
