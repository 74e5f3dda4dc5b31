/**
 * `install-units` with paths holding what systemd's unit syntax treats specially (`$`, `%`, quotes,
 * backslashes, spaces, a newline): `systemd-analyze verify` accepts the units, and systemd itself
 * (`systemd --test`, which prints every unit as it parsed it) reads back exactly the paths given: the
 * executable, each argument of ExecStart=, each ReadWritePaths= entry. A path systemd cannot spell
 * where it goes (a quote in the executable's, a newline in a ReadWritePaths= one) is refused: exit 2 for
 * a command-line path, 3 for a server.yaml one, one line naming it, nothing written.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { AS_NOBODY, runCli } from "../helpers/cli.ts";

const SYSTEMD = ["/lib/systemd/systemd", "/usr/lib/systemd/systemd"].find((p) => existsSync(p));
if (!SYSTEMD) console.warn("install_units_paths_cli_test: systemd --test part skipped, no systemd binary");

interface Tree {
  base: string;
  root: string;
  units: string;
  stub: string;
}

/**
 * A server root at `rootName` under a fresh base readable by everyone (systemd --test refuses to run as
 * root), its server.yaml's database.path `dbPath` (relative: to the root), and a file:// replica at
 * `replica` under the base when given.
 */
async function tree(rootName: string, dbPath: (base: string) => string, replica?: string): Promise<Tree> {
  const base = await Deno.makeTempDir({ prefix: "vigo-unit-paths-" });
  await Deno.chmod(base, 0o755);
  const root = `${base}/${rootName}`;
  await Deno.mkdir(root, { recursive: true });
  const configured = dbPath(base);
  const db = configured.startsWith("/") ? configured : `${root}/${configured}`;
  await Deno.mkdir(db.slice(0, db.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(db, "");
  const lines = ["database:", "  driver: sqlite", `  path: ${JSON.stringify(configured)}`];
  if (replica) lines.push("backup:", `  url: ${JSON.stringify(pathToFileURL(`${base}/${replica}`).href)}`);
  await Deno.writeTextFile(`${root}/server.yaml`, lines.join("\n") + "\n");
  await Deno.mkdir(`${base}/units`);
  await Deno.mkdir(`${base}/stub`);
  await Deno.writeTextFile(`${base}/stub/vigosrv.service`, "[Service]\nExecStart=/bin/sleep infinity\n");
  return { base, root, units: `${base}/units`, stub: `${base}/stub` };
}

async function install(t: Tree, bin: string) {
  return await runCli(["backup", "install-units", "--server-root", t.root, "--dir", t.units, "--bin", bin]);
}

/** systemd --test's display of a word: C escapes inside double quotes (`\$` for `$`, `\177` octal). */
function unquoteDisplayed(line: string): string[] {
  const single: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v" };
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    if (m[2] !== undefined) {
      words.push(m[2]);
      continue;
    }
    words.push(m[1].replace(/\\([0-7]{3}|x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
      if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
      if (e.startsWith("x") && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
      return single[e] ?? e;
    }));
  }
  return words;
}

/** What systemd parsed of `unit` (in `t.units`): its ExecStart= words and its ReadWritePaths= line. */
async function parsedBySystemd(t: Tree, unit: string): Promise<{ exec: string[]; readWrite?: string }> {
  const asNobody = process.getuid?.() === 0 ? AS_NOBODY : [];
  const [cmd, ...args] = [
    ...asNobody,
    SYSTEMD!,
    "--test",
    "--system",
    `--unit=${unit}`,
    "--log-target=console",
  ];
  const out = await new Deno.Command(cmd, {
    args,
    env: { SYSTEMD_UNIT_PATH: `${t.stub}:${t.units}:` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const start = text.indexOf(`-> Unit ${unit}:`);
  assert.ok(start >= 0, `systemd --test dumped ${unit}:\n${new TextDecoder().decode(out.stderr)}`);
  const section = text.slice(start, text.indexOf("\n\t-> Unit ", start + 1) >>> 0);
  const exec = /-> ExecStart:\n\t+Command Line: (.*)\n/.exec(section);
  assert.ok(exec, section);
  return { exec: unquoteDisplayed(exec[1]), readWrite: /\n\t+ReadWritePaths: (.*)\n/.exec(section)?.[1] };
}

async function assertVerifies(t: Tree, units: string[]): Promise<void> {
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", ...units.map((u) => `${t.units}/${u}`)],
    env: { SYSTEMD_UNIT_PATH: `${t.stub}:${t.units}:` },
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, err);
  assert.equal(err.trim(), "", "systemd-analyze verify prints no warning");
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name);

Deno.test("install-units: systemd reads back every path as given, whatever its characters", async () => {
  // The server root (ExecStart= arguments only) holds every special character and a newline; the
  // database and replica directories (ReadWritePaths= too) all but control characters; the executable
  // what systemd takes in one ($, %, spaces).
  const dbDir = `db's "dir" $x %i \\b`;
  const replicaDir = `rep's "r" $y %h/replica`;
  const t = await tree(`it's "odd" $HOME %n \\x\n/srv`, (base) => `${base}/${dbDir}/vigo.db`, replicaDir);
  try {
    const yaml = `${t.root}/server.yaml`;
    const bin = `${t.base}/bin $dir %p/vigo cli`;
    await Deno.mkdir(bin.slice(0, bin.lastIndexOf("/")));
    await Deno.copyFile("/bin/true", bin);
    await Deno.chmod(bin, 0o755);

    const res = await install(t, bin);
    assert.equal(res.code, 0, res.stderr);
    // Before: "Command …/bin $$dir %p/vigo cli is not executable", "Unbalanced quoting" (the newline),
    // "Failed to extract first word, ignoring" (ReadWritePaths= dropped at the first ').
    await assertVerifies(t, ["vigocli-replicate.service", "vigocli-drill.service"]);
    if (!SYSTEMD) return;
    const replicate = await parsedBySystemd(t, "vigocli-replicate.service");
    const [program, ...args] = replicate.exec;
    assert.equal(program, bin);
    // `$$` is one `$` once systemd has substituted variables, at each start.
    assert.deepEqual(args.map((a) => a.replaceAll("$$", "$")), [
      "backup",
      "replicate",
      "--server-yaml",
      yaml,
      "--server-root",
      t.root,
    ]);
    assert.equal(replicate.readWrite, `${t.base}/${dbDir} -${t.base}/${replicaDir}`);
    const drill = await parsedBySystemd(t, "vigocli-drill.service");
    assert.deepEqual(drill.exec.map((a, i) => i === 0 ? a : a.replaceAll("$$", "$")), [
      bin,
      "backup",
      "drill",
      "--server-yaml",
      yaml,
      "--server-root",
      t.root,
    ]);
  } finally {
    await Deno.remove(t.base, { recursive: true });
  }
});

Deno.test("install-units: --bin systemd cannot run is refused, exit 2, naming --bin and the character", async () => {
  const t = await tree("srv", () => "db/vigo.db");
  try {
    for (
      const [c, words] of [['"', "a double quote"], ["'", "a single quote"], ["\\", "a backslash"], [
        "\n",
        "a newline",
      ]]
    ) {
      const res = await install(t, `${t.base}/bin${c}dir/vigocli`);
      assert.equal(res.code, 2, `${JSON.stringify(c)}: ${res.stderr}`);
      assert.equal(res.stderr.split("\n").length, 2, res.stderr);
      assert.match(res.stderr, /^vigocli: --bin /);
      assert.ok(res.stderr.includes(`contains ${words}`), res.stderr);
      assert.deepEqual(names(t.units), [], "nothing written");
    }
  } finally {
    await Deno.remove(t.base, { recursive: true });
  }
});

Deno.test("install-units: a newline in a ReadWritePaths= path is refused: --server-root exit 2, server.yaml 3", async () => {
  const t = await tree("sr\nv", () => "db/vigo.db");
  try {
    const fromRoot = await install(t, "/usr/bin/vigocli");
    assert.equal(fromRoot.code, 2, fromRoot.stderr);
    assert.equal(fromRoot.stderr.split("\n").length, 2, fromRoot.stderr);
    assert.match(
      fromRoot.stderr,
      /^vigocli: --server-root ".*sr\\nv": contains a newline, .*ReadWritePaths=/,
    );
    assert.deepEqual(names(t.units), []);
  } finally {
    await Deno.remove(t.base, { recursive: true });
  }
  const u = await tree("srv", () => "d\tb/vigo.db");
  try {
    const fromYaml = await install(u, "/usr/bin/vigocli");
    assert.equal(fromYaml.code, 3, fromYaml.stderr);
    assert.equal(fromYaml.stderr.split("\n").length, 2, fromYaml.stderr);
    assert.match(fromYaml.stderr, /^vigocli: .*server\.yaml: database\.path: ".*d\\tb" contains a tab, /);
    assert.deepEqual(names(u.units), []);
  } finally {
    await Deno.remove(u.base, { recursive: true });
  }
});
