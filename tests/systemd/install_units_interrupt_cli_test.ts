/**
 * `install-units --force` interrupted with a real SIGTERM, once while it stages the new units and once
 * while it renames them into place (strace slows every fsync so that each phase lasts long enough to be
 * seen from outside and signalled in): it exits 130 with one line, and the unit directory holds either
 * every old unit or every new one, and no temporary file. Before, the exit came at the signal: staged
 * temporary files stayed, and a rename phase cut short left some units old and some new. Skipped,
 * saying so, without strace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { sleep } from "../helpers/litestream.ts";
import { makeRoot } from "../replicate/replicate_env.ts";

const hasStrace = new Deno.Command("sh", { args: ["-c", "command -v strace"] }).outputSync().success;
if (!hasStrace) console.warn("install_units_interrupt_cli_test: skipped, strace is not installed");

const UNITS = [
  "vigocli-crate@.service",
  "vigocli-crate@.timer",
  "vigocli-drill.service",
  "vigocli-drill.timer",
  "vigocli-replicate.service",
];
const SERVICES = UNITS.filter((u) => u.endsWith(".service"));

/** Which executable each service of `dir` runs (OLD or NEW), and every name in `dir`. */
function state(dir: string): { bins: string[]; names: string[] } {
  const bins = SERVICES.map((u) => {
    try {
      return /^ExecStart=\/opt\/(OLD|NEW)\//m.exec(Deno.readTextFileSync(join(dir, u)))?.[1] ?? "?";
    } catch {
      return "?";
    }
  });
  return { bins, names: [...Deno.readDirSync(dir)].map((e) => e.name).sort() };
}

/** The PID of the install-units `tracer` (strace) runs; not one of the children it probes ptrace with. */
async function tracee(tracer: number): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const children = await Deno.readTextFile(`/proc/${tracer}/task/${tracer}/children`).catch(() => "");
    for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
      // A probe is a fork of strace: its command line is strace's, which names install-units too.
      const argv0 = (await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "")).split("\0")[0];
      if (argv0 === cliCommand()[0]) return Number(pid);
    }
    await sleep(5);
  }
  throw new Error("strace started no install-units");
}

for (
  const [phase, reached] of [
    ["staging the new units", (s: ReturnType<typeof state>) => s.names.some((n) => n.includes(".tmp-"))],
    ["renaming them into place", (s: ReturnType<typeof state>) => s.bins.includes("NEW")],
  ] as const
) {
  Deno.test({
    name: `install-units --force interrupted while ${phase}: all old or all new units, no temporary file`,
    ignore: !hasStrace,
    async fn() {
      const r = await makeRoot();
      const dir = join(r.root, "units");
      try {
        await Deno.mkdir(dir);
        const args = ["backup", "install-units", "--server-root", r.root, "--dir", dir, "--force"];
        const old = await runCli([...args, "--bin", "/opt/OLD/vigocli"]);
        assert.equal(old.code, 0, old.stderr);
        const child = new Deno.Command("strace", {
          args: [
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=fsync",
            "-e",
            "inject=fsync:delay_enter=300000",
            ...cliCommand(),
            ...args,
            "--bin",
            "/opt/NEW/vigocli",
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const pid = await tracee(child.pid);
        let seen = state(dir);
        for (let i = 0; i < 12_000 && !reached(seen); i++) {
          await sleep(5);
          seen = state(dir);
        }
        assert.ok(reached(seen), `never saw it ${phase}: ${JSON.stringify(seen)}`);
        Deno.kill(pid, "SIGTERM");
        const out = await child.output();
        const stderr = new TextDecoder().decode(out.stderr);
        const after = state(dir);
        assert.deepEqual(after.names, UNITS, `no temporary file left (seen at the signal: ${seen.names})`);
        const bins = new Set(after.bins);
        assert.equal(bins.size, 1, `all old or all new: ${after.bins} (seen at the signal: ${seen.bins})`);
        assert.equal(out.code, 130, stderr);
        assert.match(stderr, /^vigocli: install-units into .* interrupted \(SIGTERM\)[^\n]*\n$/);
        const line = [...bins][0] === "NEW" ? /as it completed: every unit is installed/ : /no unit changed/;
        assert.match(stderr, line);
      } finally {
        await Deno.remove(r.root, { recursive: true });
      }
    },
  });
}
