/**
 * Two writers of one replica URL: a replicator of another database (or another host) pointed at a
 * replica that a live replicator claims exits 5 naming it, and writes nothing; a replicator whose
 * claim is taken over stops within seconds (exit 5) instead of interleaving; a restart after
 * SIGKILL on the same host takes its own claim back at once.
 */
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { hostname } from "node:os";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb } from "../helpers/litestream.ts";
import {
  foreignSegment,
  judgeLeaseAtStart,
  LEASE_KEY,
  parseLease,
} from "../../lib/replicate/replica_lease.ts";
import { kill9, killReplicators, makeRoot, startReplicate } from "./replicate_env.ts";

Deno.test("replica lease: taken when free, stale or ours; refused when another live replicator holds it", () => {
  const now = new Date("2026-01-01T00:01:00Z");
  const me = { host: "a", db: "/srv/vigo/db/vigo.db" };
  const other = {
    host: "b",
    pid: 7,
    db: "/srv/vigo/db/vigo.db",
    instance: "x",
    heartbeat: "2026-01-01T00:00:50Z",
  };
  assertEquals(judgeLeaseAtStart(null, me, now, 60_000), { kind: "take" });
  assertEquals(judgeLeaseAtStart(other, me, now, 60_000), { kind: "refuse", holder: other });
  assertEquals(judgeLeaseAtStart({ ...other, db: "/other.db", host: "a" }, me, now, 60_000).kind, "refuse");
  assertEquals(judgeLeaseAtStart({ ...other, host: "a" }, me, now, 60_000), { kind: "take" }, "our restart");
  assertEquals(judgeLeaseAtStart(other, me, now, 5_000), { kind: "take" }, "stale");
  assertEquals(judgeLeaseAtStart({ ...other, heartbeat: "garbage" }, me, now, 60_000), { kind: "take" });
  assertEquals(parseLease("{}"), null);
  assertEquals(parseLease("not json"), null);
  assertEquals(parseLease(JSON.stringify(other)), other);

  // Segments past our upload position in our WAL index are someone else's; one exactly at it may be
  // our own upload whose response was lost.
  const pos = { index: 3, offset: 4152 };
  assertEquals(
    foreignSegment([{ index: 3, offset: 0 }, { index: 3, offset: 4152 }, { index: 2, offset: 9000 }], pos),
    null,
  );
  assertEquals(foreignSegment([{ index: 3, offset: 0 }, { index: 3, offset: 8272 }], pos), {
    index: 3,
    offset: 8272,
  });
});

Deno.test("replicate: a second writer of one replica URL is refused, a takeover stops the first", async () => {
  const a = await makeRoot({ syncInterval: "200ms" });
  const b = await makeRoot({ syncInterval: "200ms", url: a.url });
  try {
    await createWriterDb(a.db);
    await createWriterDb(b.db);
    const first = await startReplicate(a);
    const lease = parseLease(await Deno.readTextFile(`${a.replicaDir}/${LEASE_KEY}`));
    assertEquals([lease?.host, lease?.pid, lease?.db], [hostname(), first.child.pid, a.db]);

    // Another database replicating to the same URL: refused before it uploads anything.
    const gens = () => Array.from(Deno.readDirSync(`${a.replicaDir}/generations`)).map((e) => e.name);
    const before = gens();
    const second = await runCli(["backup", "replicate", "--server-yaml", b.yaml, "--server-root", b.root]);
    assertEquals(second.code, 5, second.stderr);
    assertMatch(
      second.stderr,
      new RegExp(
        `replica already written by another replicator \\(host ${hostname()}, PID ${first.child.pid}, database ${a.db},`,
      ),
    );
    assertMatch(second.stderr, /; stop it, or its claim lapses at \d{4}-\d\d-\d\dT[\d:.]+Z if it is gone\n$/);
    assertEquals(gens(), before, "no generation of the refused replicator");
    assert(!/new generation/.test(second.stdout), second.stdout);

    // SIGKILL and restart on the same host: the stale claim is ours, taken back at once.
    await kill9(first);
    const again = await startReplicate(a);

    // Someone else claims the replica while it runs: it stops by itself (exit 5), naming them.
    const claim = {
      host: "elsewhere",
      pid: 4242,
      db: "/x.db",
      instance: "ffff",
      heartbeat: new Date().toISOString(),
    };
    await Deno.writeTextFile(`${a.replicaDir}/${LEASE_KEY}`, JSON.stringify(claim));
    const code = await again.wait(30_000);
    assertEquals(code, 5, again.output());
    assertMatch(
      again.output(),
      /another replicator took over this replica \(host elsewhere, PID 4242, database \/x\.db/,
    );
    assert(!/replication stopped/.test(again.output()), "no final flush after losing the replica");
  } finally {
    await killReplicators();
    await Deno.remove(a.root, { recursive: true });
    await Deno.remove(b.root, { recursive: true });
  }
});

Deno.test("replicate: a clean stop gives the replica's claim up: another database replicates to it at once", async () => {
  const a = await makeRoot({ syncInterval: "200ms" });
  const b = await makeRoot({ syncInterval: "200ms", url: a.url });
  try {
    await createWriterDb(a.db);
    await createWriterDb(b.db);
    const first = await startReplicate(a);
    assertEquals(await first.stop("SIGTERM"), 0, first.output());
    // It stayed claimed for a minute after the stop: a recovered host's replicator was refused (exit 5).
    assertEquals(await Deno.stat(`${a.replicaDir}/${LEASE_KEY}`).then(() => true, () => false), false);
    const next = await startReplicate(b);
    assertEquals(await next.stop("SIGTERM"), 0, next.output());
  } finally {
    await killReplicators();
    await Deno.remove(a.root, { recursive: true });
    await Deno.remove(b.root, { recursive: true });
  }
});

Deno.test("replicate: a WAL segment of our generation that we did not write stops the replicator (exit 5)", async () => {
  const r = await makeRoot({ syncInterval: "200ms" });
  try {
    await createWriterDb(r.db);
    const repl = await startReplicate(r);
    const [gen] = Array.from(Deno.readDirSync(`${r.replicaDir}/generations`)).map((e) => e.name);
    const walDir = `${r.replicaDir}/generations/${gen}/wal`;
    const segs = Array.from(Deno.readDirSync(walDir)).map((e) => e.name).sort();
    const index = segs[segs.length - 1].slice(0, 8);
    // What a cloned machine continuing our generation, or a Litestream process, would leave.
    const foreign = `${index}_7fff0000.wal.lz4`;
    await Deno.writeFile(`${walDir}/${foreign}`, new Uint8Array(16));
    assertEquals(await repl.wait(30_000), 5, repl.output());
    assertMatch(
      repl.output(),
      new RegExp(`WAL segment ${foreign} of generation ${gen} was not written by this replicator`),
    );
  } finally {
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});
