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
import { judgeLeaseAtStart, LEASE_KEY, parseLease } from "../../lib/replicate/replica_lease.ts";
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
    assertEquals(gens(), before, "no generation of the refused replicator");

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
