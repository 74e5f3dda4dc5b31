/** The bench report: min/median/max over runs, met/missed on the medians, README table between markers. */
import assert from "node:assert/strict";
import { aggregate, type Report, type RunRow, spread } from "../../bench/report.ts";
import {
  BEGIN,
  END,
  incompleteAreas,
  newestPerArea,
  RATIO_NOTE,
  replaceTable,
} from "../../scripts/bench_table.ts";

const row = (ours: number, peer: number, load: number, extra: Partial<RunRow> = {}): RunRow => ({
  area: "archive",
  name: "backup create",
  ours,
  peer,
  peerName: "tar | pigz -6",
  unit: "s",
  load,
  target: "≤ 0.8×",
  goal: { ratio: 0.8 },
  ...extra,
});

/** A report started at `started_at` holding `rows`; `extra` sets what differs from the usual. */
const report = (started_at: string, rows: Report["rows"], extra: Partial<Report> = {}): Report => ({
  started_at,
  scale: 1,
  runs: 3,
  vigocli: "vigocli",
  rows,
  ...extra,
});

Deno.test("spread: min, median (mean of the middle two for an even count) and max", () => {
  assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2, max: 3, runs: [3, 1, 2] });
  assert.equal(spread([4, 1, 3, 2]).median, 2.5);
});

Deno.test("aggregate: one record per measure and peer, paired ratios, verdict on the median", () => {
  const rows = [
    row(7, 10, 6.5),
    row(9, 10, 7.5),
    row(1, 10, 7),
    row(5, 5, 7, { peerName: "restic backup", target: "≤ 0.9×", goal: { ratio: 0.9 } }),
    row(30, 0, 7, { name: "throughput", peer: 20, goal: { ratio: 1, higher: true }, target: "≥ 1.0×" }),
    row(20, 0, 7, {
      name: "rss",
      peer: undefined,
      peerName: undefined,
      goal: { value: 25 },
      target: "≤ 25 MiB",
    }),
  ];
  const [pigz, restic, throughput, rss] = aggregate(rows);
  assert.deepEqual([pigz.ours.min, pigz.ours.median, pigz.ours.max], [1, 7, 9]);
  assert.equal(pigz.ratio?.median, 0.7);
  assert.equal(pigz.met, true);
  assert.deepEqual(pigz.load_avg, { min: 6.5, max: 7.5 });
  assert.equal(restic.peer_name, "restic backup");
  assert.equal(restic.met, false);
  assert.equal(throughput.met, true);
  assert.equal(rss.ratio, null);
  assert.equal(rss.met, true);
});

Deno.test("aggregate: a peer's 0 is shown as a figure, with no ratio taken of it", () => {
  const rows = [row(3, 0, 1, { name: "rows lost" }), row(5, 0, 1, { name: "rows lost" })];
  const [lost] = aggregate(rows);
  assert.deepEqual([lost.peer?.min, lost.peer?.max], [0, 0]);
  assert.equal(lost.ratio, null);
});

Deno.test("replaceTable: regenerates only the block between the markers; refuses a README without them", () => {
  const one = report("2026-12-02T07:00:00Z", aggregate([row(7, 10, 6), row(8, 10, 6), row(9, 10, 6)]), {
    scale: 0.05,
    vigocli: "deno run main.ts",
  });
  const readme = `# T\n\nbefore\n${BEGIN}\nold table\n${END}\nafter\n`;
  const out = replaceTable(readme, [one]);
  assert.ok(out.startsWith(`# T\n\nbefore\n${BEGIN}\n`));
  assert.ok(out.endsWith(`${END}\nafter\n`));
  assert.ok(!out.includes("old table"));
  assert.match(out, /\| archive \| backup create \| 8\.00 \(7\.00–9\.00\) s +\|/);
  assert.match(out, /0\.800 \(0\.700–0\.900\)× \| ≤ 0\.8× +\| met /);
  assert.ok(out.includes(`\n\n${RATIO_NOTE}\n\n| area `), out);
  assert.equal(replaceTable(out, [one]), out);
  assert.throws(() => replaceTable("# no markers\n", [one]), /markers/);
});

Deno.test("replaceTable: an area measured again in a later report is shown from that report only", () => {
  const oneRun = (started_at: string, rows: RunRow[][]) =>
    report(started_at, rows.flatMap((r) => aggregate(r)), { runs: 1 });
  const first = oneRun("2026-12-02T07:00:00Z", [
    [row(7, 10, 1)],
    [row(2, 4, 1, { area: "replica", name: "replica restore" })],
  ]);
  const second = oneRun("2026-12-03T09:00:00Z", [[
    row(3, 4, 2, { area: "replica", name: "replica restore" }),
  ]]);
  const third = oneRun("2026-12-03T10:00:00Z", [[row(1, 9, 3, { area: "startup", name: "start-up" })]]);
  const kept = newestPerArea([first, second, third]);
  assert.deepEqual(kept.map((r) => r.rows.map((x) => `${x.area} ${x.ours.median}`)), [
    ["archive 7"],
    ["replica 3"],
    ["startup 1"],
  ]);
  const out = replaceTable(`${BEGIN}\n${END}\n`, [first, second, third]);
  assert.match(out, /- archive: measured 2026-12-02T07:00:00Z/);
  assert.match(out, /- replica: measured 2026-12-03T09:00:00Z/);
  assert.doesNotMatch(out, /archive, replica: measured/);
  assert.doesNotMatch(out, /\| replica +\| replica restore +\| 2\.00/);
  assert.match(out, /\| replica +\| replica restore +\| 3\.00/);
  // A report left with no rows gets no caption.
  const onlySecond = replaceTable(`${BEGIN}\n${END}\n`, [
    second,
    oneRun("2026-12-04T00:00:00Z", [[
      row(4, 4, 1, { area: "replica", name: "replica restore" }),
    ]]),
  ]);
  assert.doesNotMatch(onlySecond, /2026-12-03T09:00:00Z/);
});

Deno.test("replaceTable: an area that completed fewer runs than asked for leaves an earlier complete one shown", () => {
  const complete = report("2026-12-02T07:00:00Z", aggregate([row(7, 10, 1), row(8, 10, 1), row(9, 10, 1)]));
  const partial = report(
    "2026-12-03T09:00:00Z",
    aggregate([row(2, 10, 1), row(1, 9, 1, { area: "startup", name: "start-up" })]),
    { runs_completed: { archive: 1, startup: 3 } },
  );
  assert.deepEqual(incompleteAreas(partial), ["archive"]);
  assert.deepEqual(incompleteAreas(complete), []);
  const out = replaceTable(`${BEGIN}\n${END}\n`, [complete, partial]);
  assert.match(out, /- archive: measured 2026-12-02T07:00:00Z, `--scale 1`, 3 runs/);
  assert.match(out, /- startup: measured 2026-12-03T09:00:00Z/);
  assert.match(out, /\| archive +\| backup create +\| 8\.00 \(7\.00–9\.00\) s/);
  assert.doesNotMatch(out, /\| archive +\| backup create +\| 2\.00/);
});

Deno.test("bench_table.ts counts the rows the table shows, not those of areas measured again later", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = report("2026-12-02T07:00:00Z", [
      ...aggregate([row(7, 10, 1)]),
      ...aggregate([row(2, 4, 1, { area: "replica", name: "replica restore" })]),
    ]);
    const second = report(
      "2026-12-03T09:00:00Z",
      aggregate([row(3, 4, 2, { area: "replica", name: "replica restore" })]),
    );
    const files: string[] = [];
    for (const [i, r] of [first, second].entries()) {
      files.push(`${dir}/r${i}.json`);
      await Deno.writeTextFile(files[i], JSON.stringify(r));
    }
    await Deno.writeTextFile(`${dir}/README.md`, `${BEGIN}\n${END}\n`);
    const script = new URL("../../scripts/bench_table.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, ...files, "--readme", `${dir}/README.md`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    assert.match(stderr, /README\.md: 2 rows$/m);
    assert.match(await Deno.readTextFile(`${dir}/README.md`), /\| replica +\| replica restore +\| 3\.00/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README's benchmark table is what bench_table.ts makes of the results file it names, not edited by hand", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const readme = await Deno.readTextFile(`${root}README.md`);
  // "How the table below was made" names the run the table was regenerated from.
  const made = readme.slice(readme.indexOf("How the table below was made"));
  const file = /`(bench\/results\/[^`]+\.json)`/.exec(made)?.[1];
  assert.ok(file, "README names the results file of its table");
  const report = JSON.parse(await Deno.readTextFile(`${root}${file}`));
  // Compared with its line breaks as spaces: `deno fmt` rewraps the block's prose lines after it is made.
  const flat = (text: string) => text.replace(/\s+/g, " ");
  assert.equal(flat(replaceTable(readme, [report])), flat(readme));
});
