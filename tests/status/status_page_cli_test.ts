/**
 * `backup status`: `--json` has every path's facts; `--serve` refuses a non-loopback address without
 * `--token` and checks the token on every request; and the page, rendered by a real browser (Debian's
 * chromium via puppeteer-core) with every request outside its own origin blocked, shows each path, the
 * failed drill as failed, and then refreshes itself to the new drill outcome. A screenshot is saved.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import puppeteer from "puppeteer-core";
import { runCli } from "../helpers/cli.ts";
import { background } from "../helpers/litestream.ts";
import { killReplicators, startReplicate } from "../replicate/replicate_env.ts";
import { writeDrillReport } from "../../lib/drill/drill_report.ts";
import { drillReport } from "../metrics/drill_fixture.ts";
import { makeStatusServer, type StatusServer } from "./status_fixture.ts";

let server: StatusServer | null = null;
async function fixture(): Promise<StatusServer> {
  return server ??= await makeStatusServer();
}

Deno.test("status --json: archives, snapshots, replication and the failed drill", async () => {
  const s = await fixture();
  const r = await runCli(["backup", "status", "--server-root", s.root, "--json"]);
  assertEquals(r.code, 0, r.stderr);
  const st = JSON.parse(r.stdout);
  assertEquals(st.archives.local.count, 1);
  assertEquals(st.archives.local.newest.name, s.archive);
  assertEquals(st.archives.remote.count, 0);
  assertEquals(st.replication.generations, 1);
  assertEquals(st.replication.latest_generation, s.generation);
  const [files, appdb] = st.snapshots.resources;
  assertEquals([files.resource, files.count, files.newest.name, files.last_run.status], [
    "files",
    1,
    s.snapshot,
    "created",
  ]);
  assert(files.unique_bytes > 0);
  assertEquals([appdb.resource, appdb.count, appdb.last_run.status], ["appdb", 0, "failed"]);
  assertEquals(st.drill.report.ok, false);
  assertEquals(st.summary.recoverable, true);
  // The youngest recoverable state over all paths (the fixture made all three within seconds).
  const ages = [
    ["replica", st.replication.lag_ms],
    ["archive", st.archives.local.newest_age_ms],
    ["snapshot", files.newest_age_ms],
  ].sort((a, b) => a[1] - b[1]);
  assertEquals(st.summary.best_age_ms, ages[0][1]);
  // Two paths as young to the millisecond (the archive and the replica at 331 ms once) are both right.
  assert(ages.some(([path, age]) => age === ages[0][1] && path === st.summary.best_path), r.stdout);
  assert(st.summary.problems.some((p: string) => /last drill FAILED/.test(p)), r.stdout);
});

Deno.test("status --serve: token required off loopback and checked on every request", async () => {
  const s = await fixture();
  const open = await runCli(["backup", "status", "--server-root", s.root, "--serve", "0.0.0.0:0"]);
  assertEquals(open.code, 2, open.stderr);
  assert(/--token is required/.test(open.stderr), open.stderr);
});

Deno.test("status page: renders every path offline in chromium, shows the failed drill, refreshes", async () => {
  const s = await fixture();
  const [cmd, ...pre] = (await import("../helpers/cli.ts")).cliCommand();
  const srv = background(cmd, [
    ...pre,
    "backup",
    "status",
    "--server-root",
    s.root,
    "--serve",
    "127.0.0.1:0",
    "--token",
    // A "+", as base64 tokens have: the page's own refresh must read it from its URL as a plus.
    "s3+cret/x==",
  ]);
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless"],
  });
  try {
    await srv.waitFor(/serving the status page on http:\/\/127\.0\.0\.1:\d+/, 120_000);
    const base = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(srv.output())![1];
    const bare = await fetch(`${base}/status.json`);
    await bare.body?.cancel();
    assertEquals(bare.status, 401, "no token");
    const wrong = await fetch(`${base}/`, { headers: { authorization: "Bearer nope" } });
    await wrong.body?.cancel();
    assertEquals(wrong.status, 401, "wrong token");

    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const foreign: string[] = [];
    await page.setRequestInterception(true);
    page.on("request", (req) => {
      if (new URL(req.url()).origin === base) req.continue();
      else {
        foreign.push(req.url());
        req.abort();
      }
    });
    const res = await page.goto(`${base}/?token=s3+cret/x==`, { waitUntil: "load" });
    assertEquals(res?.status(), 200);
    await page.waitForSelector("#drill .badge");
    const text = async (sel: string) =>
      await page.$eval(sel, (e) => (e as unknown as { innerText: string }).innerText);
    assert(/^Recoverable, with problems/.test(await text("header")), await text("header"));
    assert(
      /Newest recoverable data is \d+ s old \(from the (replica|archive|snapshot)\)/.test(
        await text("header"),
      ),
    );
    const repl = await text("#replication");
    assert(repl.includes(s.generation) && repl.includes(s.url), repl);
    const arch = await text("#archives");
    assert(arch.includes(s.archive) && /Archives\s+1 /.test(arch), arch);
    const snaps = await text("#snapshots");
    assert(
      snaps.includes(s.snapshot) && snaps.includes("1 failing") && /failed — .*missing\.db/.test(snaps),
      snaps,
    );
    const drill = await text("#drill");
    assert(drill.startsWith("Last drill\nFAILED") || /FAILED/.test(await text("#drill .badge")), drill);
    assert(drill.includes("restored database lacks 12 rows"), drill);
    assertEquals(
      await page.evaluate(`getComputedStyle(document.querySelector("#drill .badge")).backgroundColor`),
      "rgb(179, 38, 30)",
    );

    const shot = `${await Deno.makeTempDir({ prefix: "vigo-status-page-" })}/status.png`;
    await page.screenshot({ path: shot, fullPage: true });
    console.error(`screenshot: ${shot}`);

    // The page refreshes itself from /status.json: a new, passing drill shows up without a reload.
    await writeDrillReport(s.drills, drillReport(0, false));
    await page.waitForFunction(
      `document.querySelector("#drill .badge")?.textContent === "PASSED"`,
      { timeout: 30_000 },
    );
    assertEquals(foreign, [], "the page asked for nothing outside its own origin");
  } finally {
    await browser.close();
    await srv.kill();
    await killReplicators();
  }
});

Deno.test("status: a running replicator at backup.addr is read live; a stopped one is a problem", async () => {
  const s = await fixture();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await Deno.writeTextFile(s.yaml, `${await Deno.readTextFile(s.yaml)}  addr: "127.0.0.1:${port}"\n`);
  const repl = await startReplicate(s);
  try {
    const up = await runCli(["backup", "status", "--server-root", s.root, "--json"]);
    assertEquals(up.code, 0, up.stderr);
    const live = JSON.parse(up.stdout).replication.live;
    assertEquals([live.reachable, live.healthy, live.url], [true, true, `http://127.0.0.1:${port}`]);
    assertEquals(live.generation, JSON.parse(up.stdout).replication.latest_generation);
    assert(live.lag_ms < 3000, up.stdout);
  } finally {
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
  }
  const down = await runCli(["backup", "status", "--server-root", s.root, "--json"]);
  const st = JSON.parse(down.stdout);
  assertEquals(st.replication.live.reachable, false);
  assert(st.summary.problems.some((p: string) => /replicator not reachable/.test(p)), down.stdout);
});

Deno.test("status fixture cleanup", async () => {
  if (server) await Deno.remove(server.root, { recursive: true });
});
