/**
 * cross_fs: the target on another filesystem than the source. Uses a fresh tmpfs mount when the
 * machine allows it (root with CAP_SYS_ADMIN), else /dev/shm when it is a different filesystem from
 * the temp directory; the test is skipped, saying why, when neither is available.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { backupCrate, crateRun, ino, scratch, show, snapshots, writeTree } from "./fixture.ts";

interface OtherFs {
  dir: string;
  how: string;
  release(): void;
}

function otherFilesystem(): OtherFs | null {
  const mnt = mkdtempSync(join(tmpdir(), "crate-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt], { stdio: "ignore" });
    return {
      dir: mnt,
      how: "tmpfs mount",
      release: () => {
        execFileSync("umount", [mnt]);
        rmSync(mnt, { recursive: true, force: true });
      },
    };
  } catch {
    rmSync(mnt, { recursive: true, force: true });
  }
  try {
    if (statSync("/dev/shm").dev !== statSync(tmpdir()).dev) {
      const dir = mkdtempSync("/dev/shm/crate-xfs-");
      return { dir, how: "/dev/shm", release: () => rmSync(dir, { recursive: true, force: true }) };
    }
  } catch {
    // no /dev/shm
  }
  return null;
}

/** Whether another filesystem is plausibly available, decided without mounting anything. */
function otherFilesystemLikely(): boolean {
  try {
    return process.getuid?.() === 0 || statSync("/dev/shm").dev !== statSync(tmpdir()).dev;
  } catch {
    return false;
  }
}

const likely = otherFilesystemLikely();
if (!likely) {
  console.error("cross_fs test skipped: not root (no tmpfs mount) and /dev/shm is not another filesystem");
}

Deno.test({
  name: "cross_fs fail / warn / copy with the target on another filesystem",
  ignore: !likely,
  async fn() {
    const other = otherFilesystem();
    if (!other) throw new Error("neither a tmpfs mount nor a /dev/shm on another filesystem is available");
    console.error(`cross_fs test uses a ${other.how}`);
    const s = scratch();
    try {
      const src = join(s.dir, "src");
      writeTree(src, { "a.txt": "a", "d/b.txt": "b" });
      assert.notEqual(statSync(src).dev, statSync(other.dir).dev);
      const t = (mode: string) => join(other.dir, mode);
      const crate = (mode: string, extra: string[] = []) =>
        backupCrate(join(s.dir, `${mode}.yaml`), src, t(mode), [`cross_fs: ${mode}`, ...extra]);

      let r = await crateRun(crate("fail"), "2026-03-13T02:00:00Z");
      assert.equal(r.code, 3, show(r));
      assert.match(r.stderr, /are on different filesystems \(cross_fs: fail\)/);
      assert.deepEqual(snapshots(t("fail")), []);

      r = await crateRun(crate("warn"), "2026-03-13T02:00:00Z");
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, /warning: files: .*different filesystems \(cross_fs: warn\)/);
      r = await crateRun(crate("warn"), "2026-03-14T02:00:00Z");
      assert.equal(r.code, 0, show(r));
      // links join previous and new snapshot, both on the target filesystem
      const [w1, w2] = snapshots(t("warn"));
      assert.equal(ino(join(t("warn"), w2, "d/b.txt")), ino(join(t("warn"), w1, "d/b.txt")));

      r = await crateRun(crate("copy"), "2026-03-13T02:00:00Z");
      assert.equal(r.code, 0, show(r));
      assert.doesNotMatch(r.stderr, /warning/);
      assert.deepEqual(snapshots(t("copy")), ["2026.072.02.00"]);

      // the same crate with source and target on one filesystem: fail is no obstacle
      r = await crateRun(
        backupCrate(join(s.dir, "same.yaml"), src, join(s.dir, "t"), []),
        "2026-03-13T02:00:00Z",
      );
      assert.equal(r.code, 0, show(r));
    } finally {
      s.cleanup();
      other.release();
    }
  },
});
