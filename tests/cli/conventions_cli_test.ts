/**
 * Conventions an operator relies on, through the real executable: `help exit-codes`, generated completion
 * and man page, the colon-free archive name GNU tar reads without --force-local, VIGO_SERVER_ROOT as the
 * default root, --target / --server-root meaning the same directory on every command, a quiet exit
 * (141) when a pipe reader such as `head` stops reading, a wrong command line answered in one line, and
 * server.yaml's warnings printed by every command that reads it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

Deno.test("cli: help exit-codes, completion and man page come from the binary", async () => {
  const codes = await runCli(["help", "exit-codes"]);
  assert.equal(codes.code, 0, codes.stderr);
  assert.match(codes.stdout, /^\s+130\s+interrupted/m);
  const restoreHelp = await runCli(["backup", "restore", "--help"]);
  assert.match(restoreHelp.stdout, /Examples:\n {2}systemctl stop vigosrv/);
  assert.match(restoreHelp.stdout, /Exit codes:\n\s+0\s+success/);
  // The password's other sources, which worked without any --help naming them.
  for (const cmd of ["create", "restore", "verify", "inspect", "drill"]) {
    const help = (await runCli(["backup", cmd, "--help"])).stdout.replace(/\s+/g, " ");
    assert.match(help, /VIGO_BACKUP_PASSWORD_FILE, VIGO_BACKUP_PASSWORD, then a prompt/, cmd);
  }
  const dir = await Deno.makeTempDir();
  const bash = await runCli(["completion", "bash"]);
  await Deno.writeTextFile(join(dir, "c.bash"), bash.stdout);
  assert.equal((await new Deno.Command("bash", { args: ["-n", join(dir, "c.bash")] }).output()).code, 0);
  const man = await runCli(["help", "--man"]);
  await Deno.writeTextFile(join(dir, "vigocli.1"), man.stdout);
  const rendered = await new Deno.Command("man", {
    args: ["-l", join(dir, "vigocli.1")],
    env: { MANWIDTH: "80", MANPAGER: "cat" },
  }).output();
  assert.equal(rendered.code, 0);
  assert.match(new TextDecoder().decode(rendered.stdout), /EXIT STATUS/);
  assert.equal((await runCli(["completion", "tcsh"])).code, 2);
  // help's own "did you mean", as a mistyped command has
  for (
    const [words, hint] of [[["bakup"], "backup"], [["backup", "craete"], "create"], [
      ["exit-code"],
      "exit-codes",
    ]]
  ) {
    const r = await runCli(["help", ...words]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^vigocli: help: no command ".*" \\(did you mean "${hint}"\\?\\)`));
  }
  // and a group's own `help` word (commander's), which said "missing command"
  const groupHelp = await runCli(["backup", "help", "craete"]);
  assert.equal(groupHelp.code, 2, groupHelp.stderr);
  assert.equal(
    groupHelp.stderr,
    'vigocli: backup help: no command "craete" (did you mean "create"?) (see vigocli backup --help)\n',
  );
  assert.match((await runCli(["backup"])).stderr, /^vigocli: backup: missing command \(one of create, /);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli: a wrong command line is one line naming the problem and the --help to read, exit 2", async () => {
  for (
    const [args, want] of [
      [["backup", "create", "--foo"], "vigocli: unknown option '--foo' (see vigocli backup create --help)"],
      [
        ["backup", "inspect"],
        "vigocli: missing required argument 'archive' (see vigocli backup inspect --help)",
      ],
      [
        ["backup", "prune", "--keep"],
        "vigocli: option '--keep <n>' argument missing (see vigocli backup prune --help)",
      ],
      [
        ["backup", "restor"],
        "vigocli: unknown command 'restor' (Did you mean restore?) (see vigocli backup --help)",
      ],
      // A mistyped option beside a required one that is missing: the mistake is named, not the missing one.
      [
        ["backup", "replica", "restore", "--outptu", "x.db"],
        "vigocli: unknown option '--outptu' (Did you mean --output?) (see vigocli backup replica restore --help)",
      ],
      [
        ["backup", "replica", "restore"],
        "vigocli: required option '-o, --output <path>' not specified (see vigocli backup replica restore",
      ],
      [["completion", "tcsh"], "vigocli: command-argument value 'tcsh' is invalid for argument 'shell'"],
      [["backup"], "vigocli: backup: missing command (one of create, inspect, restore, verify, list, "],
      [
        ["backup", "replica"],
        "vigocli: backup replica: missing command (one of restore, list, litestream-config)",
      ],
      [
        [],
        "vigocli: missing command (one of backup, secret, crate, snapshot, completion, help) (see vigocli",
      ],
    ] as const
  ) {
    const r = await runCli([...args]);
    const what = args.join(" ") || "(nothing)";
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.equal(r.stdout, "", what);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${what}: more than one line:\n${r.stderr}`);
    assert.ok(lines[0].startsWith(want), `${what}: ${lines[0]}`);
    assert.match(lines[0], / \(see vigocli[a-z -]* --help\)$/, what);
  }
  // With --json the same line goes to stderr and the error document to stdout.
  const json = await runCli(["backup", "verify", "--json"]);
  assert.equal(json.code, 2);
  assert.equal(json.stderr.trimEnd().split("\n").length, 1, json.stderr);
  assert.equal(JSON.parse(json.stdout).error.message, "missing required argument 'archive'");
  // The document's message is the same one line (it carried commander's newline before "Did you mean").
  const typo = await runCli(["backup", "replica", "restore", "--outptu", "x.db", "--json"]);
  assert.equal(JSON.parse(typo.stdout).error.message, "unknown option '--outptu' (Did you mean --output?)");
});

Deno.test("cli: compact archive names, VIGO_SERVER_ROOT, and --target/--server-root as one option", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  const out = await Deno.makeTempDir();
  const env = { VIGO_SERVER_ROOT: fx.root, PATH: Deno.env.get("PATH")! };
  const made = await runCli(["backup", "create", "--name-format", "compact", "--json", `${out}/`], { env });
  assert.equal(made.code, 0, made.stderr);
  const path: string = JSON.parse(made.stdout).path;
  assert.match(path, /\/vigo-backup-\d{8}T\d{6}Z\.tar\.gz$/);
  // no colon in the name, so GNU tar takes it for a local file without --force-local
  const tar = await new Deno.Command("tar", { args: ["tzf", path], stderr: "piped" }).output();
  assert.equal(tar.code, 0, new TextDecoder().decode(tar.stderr));
  assert.match(new TextDecoder().decode(tar.stdout), /^manifest\.json$/m);

  // the spec's --target works where --server-root is the visible name, and the reverse on restore
  const listed = await runCli(["backup", "list", "--json", "--target", fx.root]);
  assert.equal(listed.code, 0, listed.stderr);
  const dry = await runCli(["backup", "restore", path, "--server-root", fx.root, "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`would restore into ${fx.root}`));
  const both = await runCli(["backup", "restore", path, "--server-root", fx.root, "--target", fx.root]);
  assert.equal(both.code, 2, both.stderr);
  // a missing destination folder is named as the folder, not as the file that could not be created
  const nowhere = await runCli(["backup", "create", "--server-root", fx.root, `${out}/no/such/x.tar.gz`]);
  assert.equal(nowhere.code, 9, nowhere.stderr);
  assert.match(
    nowhere.stderr,
    new RegExp(`${out}/no/such: no such directory \\(to write x\\.tar\\.gz into\\)`),
  );
  await Deno.remove(out, { recursive: true });
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("cli: output piped into head stops quietly with 141; a slow reader gets all of it, stderr too", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  // ~2,000 entries: a manifest of ~0.5 MB and a restore plan of ~0.2 MB, far more than a pipe holds, so
  // the write meets a closed pipe, and a reader that waits finds most of the output still to come.
  for (let i = 0; i < 2000; i++) {
    await Deno.writeTextFile(join(fx.root, "stacks/roles", `role-${i}.yaml`), `n: ${i}\n`);
  }
  const archive = join(fx.root, "snapshots", "many.tar.gz");
  const made = await runCli(["backup", "create", "--server-root", fx.root, archive]);
  assert.equal(made.code, 0, made.stderr);
  const err = join(fx.root, "stderr.txt");
  const out = join(fx.root, "stdout.txt");
  const piped = async (reader: string, args: string[]) => {
    const run = await new Deno.Command("bash", {
      args: ["-c", `"$@" 2>${err} | ${reader}; echo "\${PIPESTATUS[0]}"`, "bash", ...cliCommand(), ...args],
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(run.stdout).trim();
  };
  const inspect = ["backup", "inspect", archive];
  // Printed whole by printJson as the command ends; the process used to exit before the pipe took it.
  const plan = ["backup", "restore", archive, "--target", join(fx.root, "elsewhere"), "--dry-run", "--json"];
  for (const args of [inspect, plan]) {
    assert.equal(await piped("head -c 100 >/dev/null", args), "141", args.join(" "));
    assert.equal(await Deno.readTextFile(err), "");
  }
  assert.equal(await piped(`(sleep 2; cat) >${out}`, plan), "0");
  const document = JSON.parse(await Deno.readTextFile(out));
  assert.ok(document.plan.length > 2000, `plan of ${document.plan.length} lines`);
  // stderr too: 3,000 warnings (~200 KB), one per unknown key, all reach a reader that waits.
  const keys = Array.from({ length: 3000 }, (_, i) => `  unknown_key_number_${i}: 1\n`).join("");
  await Deno.writeTextFile(join(fx.root, "server.yaml"), `database:\n  driver: sqlite\npaths:\n${keys}`);
  const warned = await new Deno.Command("bash", {
    args: [
      "-c",
      `"$@" 2>&1 >/dev/null | (sleep 2; cat)`,
      "bash",
      ...cliCommand(),
      "backup",
      "list",
      "--server-root",
      fx.root,
    ],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(warned.stdout);
  assert.equal(text.match(/: unknown key, ignored/g)?.length, 3000, text.slice(-200));
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("cli: a listing, a status, a dry run's plan or help whose reader has gone is 141 too, not 0", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    const archive = join(fx.root, "snapshots", "x.tar.gz");
    assert.equal((await runCli(["backup", "create", "--server-root", fx.root, archive])).code, 0);
    const root = ["--server-root", fx.root];
    for (
      const args of [
        ["backup", "list", ...root],
        ["backup", "status", ...root],
        ["backup", "restore", archive, "--target", join(fx.root, "elsewhere"), "--dry-run"],
        ["--help"],
        ["backup", "create", "--help"],
        ["help", "backup"],
      ]
    ) {
      // The reader exits at once: the first write meets a closed pipe. Printed with console.log, which
      // drops EPIPE, these exited 0 as if read whole.
      const run = await new Deno.Command("bash", {
        args: ["-c", `"$@" | (exit 0); echo "\${PIPESTATUS[0]}"`, "bash", ...cliCommand(), ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(run.stdout).trim(), "141", args.join(" "));
      assert.equal(new TextDecoder().decode(run.stderr), "", args.join(" "));
    }
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("cli: -q keeps a dry run's plan, the data it exists to print, as restore's always did", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    const root = ["--server-root", fx.root];
    const archive = join(fx.root, "snapshots", "x.tar.gz");
    assert.equal((await runCli(["backup", "create", ...root, archive])).code, 0);
    const create = await runCli(["backup", "create", ...root, "--dry-run", "-q"]);
    assert.equal(create.code, 0, create.stderr);
    assert.match(create.stdout, /^dry run: would archive .*\n[\s\S]*nothing was written\n$/);
    const prune = await runCli(["backup", "prune", ...root, "--keep", "1", "--dry-run", "-q"]);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(
      prune.stdout,
      /^keep +x\.tar\.gz .*\n.*: would delete 0 of 1 archive\(s\); nothing was deleted\n$/,
    );
    // A prune's own report is a summary, which -q silences.
    const real = await runCli(["backup", "prune", ...root, "--keep", "1", "-q"]);
    assert.deepEqual([real.code, real.stdout], [0, ""], real.stderr);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("cli: an empty path (an unset shell variable) is a bad command line, not the current directory", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  const archive = join(fx.root, "snapshots", "x.tar.gz");
  assert.equal((await runCli(["backup", "create", "--server-root", fx.root, archive])).code, 0);
  // Run where a restore into "" would land: the current directory must stay empty.
  const cwd = await Deno.makeTempDir();
  try {
    const cases: [string[], Record<string, string>, string][] = [
      [["backup", "restore", archive, "--target", ""], {}, "--target: empty (no directory named)"],
      [
        ["backup", "restore", archive, "--dry-run"],
        { VIGO_SERVER_ROOT: "" },
        "VIGO_SERVER_ROOT is set but empty",
      ],
      [["backup", "verify", ""], {}, "archive: empty (no archive named)"],
      [["backup", "create", "--server-root", fx.root, ""], {}, "out: empty (no path named)"],
    ];
    for (const [args, env, says] of cases) {
      const r = await runCli(args, { env, cwd });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, `vigocli: ${says}\n`);
    }
    assert.deepEqual([...Deno.readDirSync(cwd)], []);
  } finally {
    await Deno.remove(cwd, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("cli: every command that reads server.yaml warns about its unknown keys, also with --json", async () => {
  // `paths.snapshot` for `paths.snapshots`: list and install-units used to drop the warning, so list
  // silently looked in the default directory.
  const fx = await makeServerRoot({
    rows: 5,
    yaml: "database:\n  driver: sqlite\npaths:\n  snapshot: elsewhere\n",
  });
  const units = await Deno.makeTempDir();
  try {
    const runs = [
      ["backup", "list"],
      ["backup", "list", "--json"],
      ["backup", "install-units", "--dir", units, "--dry-run"],
      ["backup", "install-units", "--dir", units, "--json"],
      ["backup", "create", "--dry-run"],
      ["backup", "status", "--json"],
    ];
    for (const args of runs) {
      const r = await runCli([...args, ...fx.flags]);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^vigocli: warning: .*server\.yaml: paths\.snapshot: unknown key, ignored \(line 4\) \(did you mean "snapshots"\?\)$/m,
        args.join(" "),
      );
      if (args.includes("--json")) JSON.parse(r.stdout);
    }
    // create --upload reads server.yaml twice (archive settings, then credentials): still one warning.
    const yaml = await Deno.readTextFile(fx.serverYaml);
    await Deno.writeTextFile(fx.serverYaml, `${yaml}backup:\n  url: file://${fx.root}/remote\n`);
    const up = await runCli(["backup", "create", "--upload", ...fx.flags, join(fx.root, "up.tar.gz")]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stderr.match(/paths\.snapshot: unknown key/g)?.length, 1, up.stderr);
  } finally {
    await Deno.remove(units, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("cli: output to a full device is one line naming standard output, exit 11", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    const archive = join(fx.root, "snapshots", "x.tar.gz");
    assert.equal((await runCli(["backup", "create", "--server-root", fx.root, archive])).code, 0);
    const root = ["--server-root", fx.root];
    for (
      const args of [
        ["backup", "inspect", archive],
        ["backup", "verify", archive],
        ["backup", "list", ...root],
        ["backup", "status", ...root],
        ["--help"],
        ["--version"],
      ]
    ) {
      // inspect's failed write was thrown from stdout's error listener: Bun printed a line of the bundled
      // source and a stack trace above the error line.
      const run = await new Deno.Command("bash", {
        args: ["-c", `"$@" >/dev/full`, "bash", ...cliCommand(), ...args],
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 11, `${args.join(" ")}: ${err}`);
      assert.equal(err, "vigocli: standard output: no space left on device\n", args.join(" "));
    }
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
