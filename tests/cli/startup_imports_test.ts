/**
 * `vigocli --version` and `--help` stay light: the modules main.ts loads before any action runs (its
 * static imports, transitively) hold no engine. Command files load engines with `await import()` inside
 * their actions; one static import of the backend registry once pulled every backend and ssh-config
 * into start-up. Past start-up, a command loads its own module and no other command's, and the transfer
 * commands (backup download, upload, list --remote) no gzip or tar code (README, Design: "Transfers load
 * only the code they run").
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../helpers/cli.ts";

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** Specifiers `root` (main.ts unless given) reaches through static imports only. */
async function staticClosure(root = "main.ts"): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info: { roots: string[]; modules: InfoModule[] } = JSON.parse(new TextDecoder().decode(out.stdout));
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length > 0) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  return seen;
}

Deno.test("start-up: main.ts statically loads no backend, archive engine or npm package but commander", async () => {
  const lib = new URL("lib/", `file://${REPO_ROOT}`).href;
  const loaded = [...await staticClosure()];
  const engines = loaded.filter((s) =>
    s.startsWith(lib) &&
    /^(backends\.ts|backend\/(?!backend\.ts$)|replicate\/|litestream\/|crate\/|drill\/|status\/|metrics\/|codec\/(?!codec_error\.ts$))/
      .test(s.slice(lib.length))
  );
  assert.deepEqual(engines, [], "engine modules loaded at start-up");
  const npm = loaded.filter((s) => s.startsWith("npm:") && !s.startsWith("npm:@commander-js/extra-typings@"));
  assert.deepEqual(npm, [], "npm packages loaded at start-up");
});

Deno.test("commands: program.ts loads each command's module only when that command runs", async () => {
  const cli = new URL("lib/cli/", `file://${REPO_ROOT}`).href;
  const loaded = [...await staticClosure("lib/cli/program.ts")];
  const commands = loaded.filter((s) =>
    s.startsWith(cli) && /^(backup_[a-z_]+|replica|secret|crate|snapshot)\.ts$/.test(s.slice(cli.length))
  );
  assert.deepEqual(commands, [], "command modules loaded with the command tree");
});

Deno.test("transfers: remote archives, their download and backup upload load no gzip or tar code", async () => {
  const lib = new URL("lib/", `file://${REPO_ROOT}`).href;
  const roots = [
    "lib/archive/remote_archives.ts",
    "lib/archive/remote_download.ts",
    "lib/archive/archive_upload.ts",
  ];
  for (const root of roots) {
    const loaded = [...await staticClosure(root)];
    const codec = loaded.filter((s) => s.startsWith(`${lib}codec/gzip/`) || s.startsWith(`${lib}codec/tar/`));
    assert.deepEqual(codec, [], `${root} loads gzip or tar code`);
    assert.ok(!loaded.includes("node:zlib"), `${root} loads node:zlib`);
  }
});
