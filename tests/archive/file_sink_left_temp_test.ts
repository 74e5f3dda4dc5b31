/**
 * `backup create`'s archive file sink whose write fails (the disk is full; the archive's path was made
 * meanwhile, before its sidecar was put in place or after; the archive writer aborts it) and whose
 * temporary archive (and sidecar) then cannot be removed: the
 * failure stays the error, and its line names the temporary file left for the next run's sweep. Before,
 * AtomicFile.abort()'s raw 'EACCES: permission denied, rm' replaced it. The removal fails in the kernel
 * (strace, tests/helpers/unremovable_temp.ts); skipped, saying so, without strace (or without root for
 * the full disk, a small tmpfs).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { ExistsError, IoError } from "../../lib/errors.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";
import { openFileSink, sidecarLine } from "../../lib/archive/file_sink.ts";

const isRoot = process.getuid?.() === 0;
if (!hasStrace) console.warn("file_sink_left_temp_test: skipped, strace is not installed");
if (!isRoot) console.warn("file_sink_left_temp_test: disk full skipped, mounting a tmpfs needs root");

/** A child that opens a sink at `path`, waits for strace, then runs `fail`; prints the error and `done`'s. */
function failingSink(path: string, fail: string): string {
  return `
    import { openFileSink } from "${REPO_ROOT}lib/archive/file_sink.ts";
    const path = ${JSON.stringify(path)};
    const dir = path.slice(0, path.lastIndexOf("/"));
    const sink = await openFileSink(path);
    const w = sink.writable.getWriter();
    const temp = [...Deno.readDirSync(dir)].find((e) => e.name.includes(".tmp-"));
    console.log(JSON.stringify({ temp: dir + "/" + temp.name }));
    Deno.stdin.readSync(new Uint8Array(8));
    try {
      ${fail}
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      // A done left pending (a create's caller awaiting it would hang) answers "pending".
      let timer;
      const pending = new Promise((r) => timer = setTimeout(() => r("pending"), 2000));
      const same = await Promise.race([sink.done.then(() => false, (d) => d === e), pending]);
      clearTimeout(timer);
      console.log(JSON.stringify({ code: e.exitCode, message: e.message, doneRejectsWithIt: same }));
    }`;
}

const left = (temp: string) =>
  `; its temporary file ${temp} could not be removed (permission denied) and is left for the next run's sweep`;

for (
  const { name, fail, code, problem, fullDisk } of [
    {
      name: "close refusing an archive made at its path meanwhile",
      fail: `await w.write(new Uint8Array(10));
      Deno.writeTextFileSync(path, "made meanwhile");
      await w.close();`,
      code: new ExistsError("x").exitCode,
      problem: /^already exists \(refusing to overwrite\)$/,
    },
    {
      name: "the archive writer's abort",
      fail: `await w.write(new Uint8Array(10));
      await w.abort(Object.assign(new Error("reading the database failed"), { code: "EIO" }));
      await sink.done;`,
      code: new IoError("x").exitCode,
      problem: /^input\/output error$/,
    },
    {
      name: "a write on a full disk",
      fail: `for (;;) await w.write(new Uint8Array(16_384));`,
      code: new IoError("x").exitCode,
      problem: /no space/i,
      fullDisk: true,
    },
  ]
) {
  Deno.test({
    name: `file sink: ${name} whose temporary archive cannot be removed keeps the failure`,
    ignore: !hasStrace || (fullDisk && !isRoot),
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "vigo-sink-left-temp-" });
      const mount = (cmd: string) => new Deno.Command("sh", { args: ["-c", cmd] }).outputSync();
      if (fullDisk) assert.ok(mount(`mount -t tmpfs -o size=128k,mode=0755 tmpfs '${dir}'`).success);
      try {
        const path = join(dir, "x.tar.gz");
        const { temp, outcome } = await runWithUnremovableTemp(failingSink(path, fail));
        const message = String(outcome.message);
        assert.ok(message.startsWith(`${path}: `), message);
        assert.ok(message.endsWith(left(temp)), message);
        assert.match(message.slice(`${path}: `.length, -left(temp).length), problem);
        assert.deepEqual(outcome, { code, message, doneRejectsWithIt: true });
        assert.ok(existsSync(temp), `${temp} is not there`);
        // The next run's sweep of that directory removes it (its writer is dead).
        sweepStaleTemps(dir);
        assert.ok(!readdirSync(dir).some((n) => n.includes(".tmp-")), String(readdirSync(dir)));
      } finally {
        if (fullDisk) mount(`umount '${dir}'`);
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "file sink: a commit refused once the sidecar is in place, neither removable, keeps the failure",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-sink-left-sidecar-" });
    try {
      const path = join(dir, "x.tar.gz"), sidecar = `${path}.sha256`;
      // Every unlink fails, and the archive's link into place meets EEXIST, as a file made there meanwhile
      // (after close's own check) would: the sidecar is in place by then.
      const { temp, outcome } = await runWithUnremovableTemp(
        failingSink(path, "await w.write(new Uint8Array(10));\nawait w.close();"),
        true,
        true,
      );
      const sidecarLeft =
        `; its sidecar ${sidecar} could not be removed (permission denied) and is left for ` +
        "the next create or download of that name to replace";
      const message = `${path}: already exists (refusing to overwrite)${left(temp)}${sidecarLeft}`;
      assert.deepEqual(outcome, { code: new ExistsError("x").exitCode, message, doneRejectsWithIt: true });
      assert.ok(existsSync(sidecar), `${sidecar} is not there`);
      assert.ok(!existsSync(path));
      // The next create of that name replaces the sidecar, its sweep taking the temporary archive.
      const sink = await openFileSink(path);
      const w = sink.writable.getWriter();
      await w.write(new Uint8Array([1, 2, 3]));
      await w.close();
      const { sha256 } = await sink.done;
      assert.equal(readFileSync(sidecar, "utf8"), sidecarLine(sha256, path));
      assert.deepEqual(readdirSync(dir).sort(), ["x.tar.gz", "x.tar.gz.sha256"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "file sink: a close whose temporary name cannot be removed once linked into place succeeds",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-sink-left-linked-" });
    try {
      const path = join(dir, "x.tar.gz");
      const { temp, outcome } = await runWithUnremovableTemp(
        failingSink(path, "await w.write(new Uint8Array(10));\nawait w.close();\nawait sink.done;"),
      );
      // The archive is in place with its sidecar; the temporary name is only a second name of it.
      assert.deepEqual(outcome, { ok: true });
      assert.deepEqual(new Uint8Array(readFileSync(path)), new Uint8Array(10));
      assert.ok(existsSync(`${path}.sha256`));
      assert.ok(existsSync(temp), `${temp} is not there`);
      sweepStaleTemps(dir);
      assert.deepEqual(readdirSync(dir).sort(), ["x.tar.gz", "x.tar.gz.sha256"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
