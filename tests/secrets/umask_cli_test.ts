/**
 * Secret-bearing files are owner-only whatever the umask: under `umask 000` the secret store
 * (directories, sealed values, .master.key), an encrypted archive and its directory, and everything
 * `backup restore --decrypt` puts under the restored secrets/ come out 0600 (files) and 0700
 * (directories), and nothing the restore creates is writable by others.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliResult, runCli, UMASK_000 } from "../helpers/cli.ts";
import { ARCHIVE_PASSWORD } from "../helpers/test_secrets.ts";
import { makeServerRoot } from "../archive/fixture.ts";

/** `vigocli ARGS…` started by `sh -c 'umask 000; exec …'`. */
function runUmask000(args: string[], stdin?: string): Promise<CliResult> {
  return runCli(args, { via: UMASK_000, stdin });
}

async function mode(path: string): Promise<string> {
  return ((await Deno.lstat(path)).mode! & 0o7777).toString(8);
}

/** Every path under `dir` (itself included) with its mode and whether it is a directory. */
async function modes(dir: string, rel = ""): Promise<[string, string, boolean][]> {
  const p = join(dir, rel);
  const st = await Deno.lstat(p);
  const out: [string, string, boolean][] = [[rel || ".", (st.mode! & 0o7777).toString(8), st.isDirectory]];
  if (st.isDirectory) {
    for await (const e of Deno.readDir(p)) out.push(...await modes(dir, rel ? `${rel}/${e.name}` : e.name));
  }
  return out;
}

Deno.test("umask 000: secret store, encrypted archive and restored secrets are owner-only", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  try {
    // The store, created from nothing in a server root that has none yet.
    const store = join(fx.root, "fresh");
    await Deno.mkdir(store);
    const set = await runUmask000(
      ["secret", "set", "vigo/backup/key", "--server-root", store],
      "value-1234\n",
    );
    assert.equal(set.code, 0, set.stderr);
    for (const d of ["secrets", "secrets/vigo", "secrets/vigo/backup"]) {
      assert.equal(await mode(join(store, d)), "700", d);
    }
    assert.equal(await mode(join(store, "secrets/vigo/backup/key")), "600");
    assert.equal(await mode(join(store, "secrets/.master.key")), "600");

    // An encrypted archive into a directory that does not exist yet.
    for (const d of ["secrets", "secrets/vigo", "secrets/vigo/backup"]) {
      await Deno.chmod(join(fx.root, d), 0o700);
    }
    const pw = join(fx.root, "pw");
    await Deno.writeTextFile(pw, `${ARCHIVE_PASSWORD}\n`, { mode: 0o600 });
    const outDir = join(fx.root, "out/new");
    const c = await runUmask000([
      "backup",
      "create",
      ...fx.flags,
      `${outDir}/`,
      "--encrypt",
      "--password-file",
      pw,
    ]);
    assert.equal(c.code, 0, c.stderr);
    const [name] = [...Deno.readDirSync(outDir)].map((e) => e.name).filter((n) => !n.endsWith(".sha256"));
    const out = join(outDir, name);
    assert.equal(await mode(out), "600", "the archive");
    assert.equal(await mode(join(fx.root, "out")), "700", "the directories create made for it");
    assert.equal(await mode(outDir), "700", "the directories create made for it");

    // Restore and decrypt into a new target.
    const target = join(fx.root, "restored");
    const r = await runUmask000([
      "backup",
      "restore",
      out,
      "--target",
      target,
      "--decrypt",
      "--password-file",
      pw,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const all = await modes(target);
    // Symbolic links always show 777; their mode means nothing.
    const links = new Set(
      await Promise.all(all.map(async ([rel]) => (await Deno.lstat(join(target, rel))).isSymlink ? rel : "")),
    );
    const writable = all.filter(([rel, m]) => (parseInt(m, 8) & 0o002) !== 0 && !links.has(rel));
    assert.equal(await mode(target), "755", "the target restore created");
    assert.deepEqual(writable, [], "nothing restored is writable by others");
    for (const [rel, m, isDir] of all.filter(([rel]) => rel === "secrets" || rel.startsWith("secrets/"))) {
      assert.equal(m, isDir ? "700" : "600", `restored ${rel}`);
    }
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
