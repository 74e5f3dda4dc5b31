/**
 * Configcrate mistakes that lose backups are configuration errors (exit 3) before anything runs:
 * sources and targets overlapping (inside, containing, equal), shared target_paths, a target nested
 * in another under a snapshot name, also through symbolic links; and `--root` confines every path
 * (`/../../x` cannot climb out).
 */
import assert from "node:assert/strict";
import { parseCrate } from "../../lib/crate/crate_file.ts";
import { ConfigError, ExitCode } from "../../lib/errors.ts";

const crate = (...resources: string[]) =>
  `name: x\nresources:\n${resources.map((r) => `  - ${r}\n`).join("")}`;
const backup = (name: string, src: string, dst: string) =>
  `{name: ${name}, type: backup, source_dir: "${src}", target_path: "${dst}"}`;
const dump = (name: string, src: string, dst: string) =>
  `{name: ${name}, type: db_backup, source_db: "${src}", target_path: "${dst}"}`;

function refused(text: string, pattern: RegExp, root?: string) {
  assert.throws(() => parseCrate(text, "/etc/crates/c.yaml", { root }), (e) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.exitCode, ExitCode.Config);
    assert.match(e.message, /^\/etc\/crates\/c\.yaml: /);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("sources and targets that overlap are configuration errors", () => {
  refused(
    crate(backup("a", "/srv/x", "/srv/x")),
    /resource "a": source_dir \/srv\/x is target_path \/srv\/x/,
  );
  refused(
    crate(backup("a", "/b/2026.001.00.00", "/b")),
    /source_dir \/b\/2026\.001\.00\.00 is inside target_path \/b/,
  );
  refused(crate(backup("a", "/srv", "/srv/backups")), /source_dir \/srv contains target_path \/srv\/backups/);
  refused(
    crate(backup("a", "/srv/vigo", "/b/files"), dump("d", "/b/files/2026.001.00.00/vigo.db", "/b/db")),
    /resource "d" and resource "a": source_db .* is inside target_path \/b\/files/,
  );
});

Deno.test("a source reached through a symbolic link is compared where it leads", () => {
  const dir = Deno.makeTempDirSync({ prefix: "vigo-overlap-" });
  try {
    Deno.mkdirSync(`${dir}/real`);
    Deno.symlinkSync("real", `${dir}/srclink`);
    // Lexically apart; the source is the directory the target lies in. It snapshotted itself recursively.
    refused(
      crate(backup("f", `${dir}/srclink`, `${dir}/real/snaps`)),
      /source_dir \S+\/srclink contains target_path \S+\/real\/snaps \(with symbolic links resolved\); keep/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("shared target_paths, and a target nested under a snapshot name, are configuration errors", () => {
  refused(
    crate(dump("d1", "/srv/a.db", "/b/db"), dump("d2", "/srv/b.db", "/b/db/")),
    /share target_path \/b\/db/,
  );
  refused(
    crate(backup("a", "/srv/vigo", "/b"), dump("d", "/srv/a.db", "/b/2026.100.10.00/db")),
    /under a snapshot name/,
  );
  // The shipped layout (a dump target nested in the files target under a plain name) stays valid.
  const ok = parseCrate(
    crate(backup("a", "/srv/vigo", "/b"), dump("d", "/srv/vigo.db", "/b/vigo-db")),
    "/c.yaml",
  );
  assert.equal(ok.resources.length, 2);
});

Deno.test("--root confines every path, absolute or relative", () => {
  const c = parseCrate(crate(backup("a", "/srv/vigo", "/../../x")), "/etc/crates/c.yaml", {
    root: "/tmp/drill",
  });
  assert.deepEqual(
    c.resources.map((r) => [(r as { sourceDir: string }).sourceDir, r.targetPath]),
    [["/tmp/drill/srv/vigo", "/tmp/drill/x"]],
  );
  refused(
    crate(backup("a", "/srv/vigo", "../../t")),
    /target_path: \.\.\/\.\.\/t resolves to \/t, outside --root/,
    "/etc",
  );
  const inside = parseCrate(crate(backup("a", "/srv/vigo", "rel/t")), "/tmp/drill/c.yaml", {
    root: "/tmp/drill",
  });
  assert.equal(inside.resources[0].targetPath, "/tmp/drill/rel/t");
});
