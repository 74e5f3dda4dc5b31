/**
 * `backup upload` to sftp:// interrupted (SIGINT) while the server hangs (its session processes stopped):
 * it exits 130 once its cleanup has had 10 s, its line naming the temporary file the server keeps and who
 * removes it: a listing that removes leftovers, once the file is a week old. Checked against what happens:
 * the file is there, `list --remote` and a prune leave it while it is fresh, a prune removes it a week
 * later. Before, the line said "a temporary object there (a file the next listing removes, …)", naming no
 * file, and no listing removes a fresh one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";
import { makeServerRoot } from "../archive/fixture.ts";
import { sparseArchive } from "./sparse_archive.ts";

/** The PIDs of the processes below `pid`. */
async function descendants(pid: number): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-P", String(pid)], stdout: "piped" }).output();
  const kids = new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
  return [...kids, ...(await Promise.all(kids.map(descendants))).flat()];
}

/** The PID of the sshd listening for `dir`'s config. */
async function sshdPid(dir: string): Promise<number> {
  const out = await new Deno.Command("pgrep", {
    // Its title, once listening: "sshd: /usr/sbin/sshd -D -e -f CONFIG [listener] …".
    args: ["-f", `/usr/sbin/sshd -D -e -f ${join(dir, "sshd_config")}`],
    stdout: "piped",
  }).output();
  const pids = new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
  assert.equal(pids.length, 1, `sshd of ${dir}: ${pids}`);
  return pids[0];
}

const signalAll = (pids: number[], signal: Deno.Signal) =>
  pids.forEach((p) => {
    try {
      Deno.kill(p, signal);
    } catch {
      // already gone
    }
  });

Deno.test({
  name:
    "backup upload on sftp://, the server hung: SIGINT exits 130 naming the temporary file left, truthfully",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sshd = await startSshd();
    const url = sshd.url("vigo");
    const host = await makeServerRoot({
      yaml: `database:\n  driver: sqlite\nbackup:\n  url: ${url}\n  key_path: ${sshd.clientKey}\n` +
        `  known_hosts_path: ${sshd.knownHosts}\n`,
    });
    let stopped: number[] = [];
    try {
      const path = await sparseArchive(host.root, "big.tar.gz", 256 * 1024 * 1024);
      const archives = join(sshd.dataDir, "vigo", "archives");
      const temps = () => {
        try {
          return [...Deno.readDirSync(archives)].map((e) => e.name).filter((n) => n.includes(".tmp-"));
        } catch {
          return [];
        }
      };
      const child = spawnCli(["backup", "upload", path, ...host.flags]);
      const deadline = Date.now() + 60_000;
      while (
        Date.now() < deadline && !(temps().length === 1 && Deno.statSync(join(archives, temps()[0])).size)
      ) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const [temp] = temps();
      assert.ok(temp, "the upload started writing");
      stopped = await descendants(await sshdPid(sshd.dir));
      signalAll(stopped, "SIGSTOP");
      await new Promise((r) => setTimeout(r, 500));
      const sent = Date.now();
      child.kill("SIGINT");
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 130, stderr);
      assert.ok(Date.now() - sent < 20_000, `exited ${Date.now() - sent} ms after the signal`);
      assert.equal(
        stderr.trim().split("\n").filter((l) => !l.startsWith("vigocli: warning:")).at(-1),
        `vigocli: upload of ${path} to ${url}/archives/big.tar.gz interrupted (SIGINT); its cleanup did not ` +
          `finish within 10 s: its temporary file ${url}/archives/${temp} may be left there, for the first ` +
          "listing of its directory, once it is a week old, by a command that removes leftovers (list --remote " +
          "and the others that only look remove none)",
      );
      signalAll(stopped, "SIGCONT");
      stopped = [];

      // What the line says, as it happens: the file stays until a listing that removes leftovers finds it
      // a week old.
      assert.deepEqual(temps(), [temp]);
      const listed = await runCli(["backup", "list", "--remote", ...host.flags]);
      assert.equal(listed.code, 0, listed.stderr);
      const prune = ["backup", "prune", "--remote", "--keep", "1", "--json", ...host.flags];
      const fresh = await runCli(prune);
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.deepEqual(temps(), [temp], "a fresh temporary file is left by list --remote and prune");
      const then = new Date(Date.now() - 8 * 24 * 3600 * 1000);
      await Deno.utime(join(archives, temp), then, then);
      const old = await runCli(["backup", "list", "--remote", ...host.flags]);
      assert.equal(old.code, 0, old.stderr);
      assert.deepEqual(temps(), [temp], "list --remote removes none");
      const pruned = await runCli(prune);
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.deepEqual(temps(), [], "a prune --remote removes it once it is a week old");
    } finally {
      signalAll(stopped, "SIGCONT");
      await sshd.cleanup();
      await Deno.remove(host.root, { recursive: true }).catch(() => {});
    }
  },
});
