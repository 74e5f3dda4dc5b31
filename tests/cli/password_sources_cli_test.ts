/**
 * Every source of the archive password, in the documented order: --password-file, --password-command,
 * VIGO_BACKUP_PASSWORD_FILE, VIGO_BACKUP_PASSWORD. One encrypted archive is created with a command (no
 * terminal, so nothing may prompt), then `inspect` (reads only the head) decrypts it from each source; a
 * wrong source that comes first must win and fail. A failing command exits 6, names the command and never
 * shows what it printed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const CRYPTO = 6;
const SECRET = "correct horse battery staple";

Deno.test("password sources: command, env file, env; order; failing command", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  const good = join(fx.root, "pw");
  await Deno.writeTextFile(good, `${SECRET}\n`, { mode: 0o600 });
  const bad = join(fx.root, "bad-pw");
  await Deno.writeTextFile(bad, "wrong\n", { mode: 0o600 });
  const out = join(fx.root, "enc.tar.gz");
  // Quoting is honoured without a shell: the single-quoted word reaches printf whole.
  const cmd = `printf '%s\\n' '${SECRET}'`;
  const c = await runCli(["backup", "create", ...fx.flags, out, "--encrypt", "--password-command", cmd]);
  assert.equal(c.code, 0, c.stderr);

  const inspect = (flags: string[], env: Record<string, string> = {}) =>
    runCli(["backup", "inspect", out, ...flags], { env });
  const ok = async (flags: string[], env?: Record<string, string>) => {
    const r = await inspect(flags, env);
    assert.equal(r.code, 0, `${flags.join(" ")} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).format, "vigo-backup");
  };
  const refused = async (flags: string[], env?: Record<string, string>) => {
    const r = await inspect(flags, env);
    assert.equal(r.code, CRYPTO, `${flags.join(" ")} ${JSON.stringify(env)}: ${r.stderr}`);
    return r;
  };

  await ok(["--password-command", `cat ${good}`], { VIGO_BACKUP_PASSWORD: "wrong" });
  await ok([], { VIGO_BACKUP_PASSWORD_FILE: good, VIGO_BACKUP_PASSWORD: "wrong" });
  await ok([], { VIGO_BACKUP_PASSWORD: SECRET });
  // Earlier sources win even when wrong.
  await refused(["--password-file", bad, "--password-command", `cat ${good}`]);
  await refused(["--password-command", `cat ${bad}`], { VIGO_BACKUP_PASSWORD_FILE: good });
  await refused([], { VIGO_BACKUP_PASSWORD_FILE: bad, VIGO_BACKUP_PASSWORD: SECRET });

  const failing = `sh -c 'echo leaked-${SECRET}; exit 3'`;
  const f = await refused(["--password-command", failing]);
  assert.match(f.stderr, /password command `sh -c 'echo leaked-/);
  assert.match(f.stderr, /exited with status 3/);
  assert.doesNotMatch(f.stdout + f.stderr.replace(failing, ""), /leaked/);
  const missing = await refused(["--password-command", "/nonexistent/pw-helper"]);
  assert.match(missing.stderr, /password command `\/nonexistent\/pw-helper` could not run: ENOENT/);
  await Deno.remove(fx.root, { recursive: true });
});
