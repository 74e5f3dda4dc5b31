/**
 * The drill report contract (docs/drill-report.md): the document's vectors, file naming, atomic
 * writing and "newest by name" reading.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type DrillReport,
  drillReportFileName,
  isDrillReportFileName,
  parseDrillReport,
  readLatestDrillReport,
  validateDrillReport,
  writeDrillReport,
} from "../../lib/drill/drill_report.ts";
import { BadInputError, IoError } from "../../lib/errors.ts";

const DOC = fileURLToPath(new URL("../../docs/drill-report.md", import.meta.url));

interface Vector {
  expect: "valid" | "invalid";
  key: string;
  json: string;
}

/** Every ```json block preceded by a `<!-- vector: ... -->` marker in the format document. */
function docVectors(): Vector[] {
  const text = readFileSync(DOC, "utf8");
  const re = /<!-- vector: (valid|invalid: ([^ ]+)) -->\s*```json\n([\s\S]*?)```/g;
  return [...text.matchAll(re)].map((m) => ({
    expect: m[1] === "valid" ? "valid" : "invalid",
    key: m[2] ?? "",
    json: m[3],
  }));
}

Deno.test("docs/drill-report.md: valid vectors pass, invalid ones fail naming their key", () => {
  const vectors = docVectors();
  assert.ok(vectors.filter((v) => v.expect === "valid").length >= 2);
  assert.ok(vectors.filter((v) => v.expect === "invalid").length >= 5);
  for (const v of vectors) {
    if (v.expect === "valid") {
      const r = parseDrillReport(v.json, "doc");
      assert.equal(r.version, 1);
      continue;
    }
    assert.throws(
      () => parseDrillReport(v.json, "doc"),
      (err: unknown) => err instanceof BadInputError && err.message.startsWith(`doc: ${v.key}: `),
      `vector expected to fail on ${v.key}`,
    );
  }
});

function report(startedAt: string, ok = true): DrillReport {
  const pass = { status: "pass" as const, rpo_seconds: 1, rto_ms: 2, message: null, detail: {} };
  return {
    version: 1,
    started_at: startedAt,
    finished_at: startedAt,
    ok,
    paths: {
      archive: ok ? pass : { ...pass, status: "fail", message: "archive corrupted" },
      snapshot: { status: "not_configured", rpo_seconds: null, rto_ms: null, message: "none", detail: {} },
      replica: pass,
    },
  };
}

Deno.test("file names sort like time and only they count", () => {
  assert.equal(drillReportFileName(new Date("2026-12-02T07:08:09.999Z")), "drill-20261202T070809Z.json");
  assert.ok(isDrillReportFileName("drill-20261202T070809Z.json"));
  assert.ok(!isDrillReportFileName(".drill-20261202T070809Z.json.tmp-abcdef"));
  assert.ok(!isDrillReportFileName("drill-latest.json"));
  assert.throws(() => validateDrillReport([]), BadInputError);
});

Deno.test("write atomically, read the newest by name; none, and a malformed newest", async () => {
  const root = mkdtempSync(join(tmpdir(), "drill-report-"));
  try {
    const dir = join(root, "drills");
    assert.equal(await readLatestDrillReport(dir), null);
    await writeDrillReport(dir, report("2026-12-01T07:00:00Z"));
    const p2 = await writeDrillReport(dir, report("2026-12-02T07:00:00.500Z", false));
    assert.deepEqual(readdirSync(dir).sort(), ["drill-20261201T070000Z.json", "drill-20261202T070000Z.json"]);
    const latest = await readLatestDrillReport(dir);
    assert.equal(latest?.path, p2);
    assert.equal(latest?.report.ok, false);
    assert.equal(latest?.report.paths.archive.message, "archive corrupted");
    await assert.rejects(
      () => writeDrillReport(dir, { ...report("2026-12-03T07:00:00Z"), ok: false }),
      BadInputError,
    );
    writeFileSync(join(dir, "drill-20261204T070000Z.json"), '{"version":1');
    await assert.rejects(
      () => readLatestDrillReport(dir),
      (err: unknown) => err instanceof BadInputError && err.message.includes("drill-20261204T070000Z.json"),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("drills started in one second each keep their report, the later one read as newest", async () => {
  const root = mkdtempSync(join(tmpdir(), "drill-report-"));
  try {
    const dir = join(root, "drills");
    const first = await writeDrillReport(dir, report("2026-12-02T07:00:00.100Z"));
    const second = await writeDrillReport(dir, report("2026-12-02T07:00:00.900Z", false));
    assert.equal(first, join(dir, "drill-20261202T070000Z.json"));
    assert.equal(second, join(dir, "drill-20261202T070000Z_002.json"));
    assert.equal(parseDrillReport(readFileSync(first, "utf8"), first).ok, true);
    assert.equal((await readLatestDrillReport(dir))?.path, second);
    // The names still sort as written past nine, and a name another drill took is never replaced.
    writeFileSync(join(dir, "drill-20261202T070000Z_003.json"), "another drill's\n");
    const paths = [];
    for (let i = 0; i < 8; i++) paths.push(await writeDrillReport(dir, report("2026-12-02T07:00:00Z")));
    assert.equal(paths.at(-1), join(dir, "drill-20261202T070000Z_011.json"));
    assert.equal(readFileSync(join(dir, "drill-20261202T070000Z_003.json"), "utf8"), "another drill's\n");
    assert.deepEqual(
      readdirSync(dir).filter(isDrillReportFileName).sort().at(-1),
      "drill-20261202T070000Z_011.json",
    );
    assert.ok(isDrillReportFileName("drill-20261202T070000Z_011.json"));
    assert.equal(readdirSync(dir).length, 11, "no temporary file left behind");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test('a file where the drills directory should be: exit 11 naming it, not 10 "already exists"', async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigo-drill-report-"));
  try {
    const drills = join(dir, "drills");
    writeFileSync(drills, "x");
    const err = await writeDrillReport(drills, report("2026-12-05T06:00:00Z")).then(() => null, (e) => e);
    assert.ok(err instanceof IoError, String(err));
    assert.equal(err.exitCode, 11);
    assert.equal(err.message, `${drills}: not a directory; the drill report cannot be written there`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
