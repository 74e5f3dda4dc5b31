/**
 * Hostile server.yaml and configcrate YAML (lib/config/server_yaml_parse.ts, lib/crate/crate_file.ts):
 * alias bombs ("billion laughs"), deep nesting, random mixtures of YAML syntax. Properties: the parsers
 * return or throw a ConfigError (exit 3), never anything else; time and memory stay linear in the
 * text (an alias bomb is refused, not expanded). One long scalar is left out of the linearity check:
 * the yaml package's lexer costs 10 ms for 200 kB but 0.2–0.4 s for 2 MB and 2 s for 8 MB (garbage
 * collection of its string building, not a quadratic scan; see docs/fuzzing.md).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseServerYaml } from "../../lib/config/server_yaml_parse.ts";
import { parseCrate } from "../../lib/crate/crate_file.ts";
import { assertLinear, assertTyped, checkVectors, fuzzParams } from "../helpers/fuzz.ts";

const opts = { displayPath: "server.yaml", serverYamlPath: "/srv/vigo/server.yaml", serverRoot: "/srv/vigo" };
const server = (text: string) => parseServerYaml(text, opts);
const crate = (text: string) => parseCrate(text, "/etc/vigo/crate.yaml");

const token = fc.constantFrom(
  "database:",
  "backup:",
  "paths:",
  "url: s3://bkt/p",
  "url: sftp://u@h/p",
  "name: c",
  "resources:",
  "- name: r",
  "  type: backup",
  "  type: db_backup",
  "  source_dir: /x",
  "  target_path: /t",
  "vars:",
  "&a",
  "*a",
  "<<: *a",
  "!!binary",
  "!!str",
  "!!map",
  "!!set",
  "!!timestamp",
  "!!int 0x",
  "? ",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  "-",
  "|",
  ">",
  "'",
  '"',
  "%YAML 1.1",
  "---",
  "...",
  "secret:",
  "  ",
  "\t",
  "\n",
);
const yamlArb = fc.array(fc.oneof(token, fc.string({ maxLength: 6 })), { maxLength: 50 }).map((t) =>
  t.join("")
);
const linesArb = fc.array(fc.array(token, { maxLength: 4 }).map((t) => t.join(" ")), { maxLength: 20 })
  .map((l) => l.join("\n"));

Deno.test("yaml: hostile server.yaml and crates end in a result or a ConfigError", async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(yamlArb, linesArb), async (text) => {
      for (const f of [server, crate]) {
        const outcome = await assertTyped(() => f(text));
        assert.ok(outcome === "ok" || outcome === "config", `${outcome} for ${JSON.stringify(text)}`);
      }
    }),
    fuzzParams(400),
  );
});

/** A billion-laughs document with `levels` levels of 10 aliases each, under `key`. */
function aliasBomb(levels: number, key: string): string {
  let text = `a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n`;
  for (let i = 1; i <= levels; i++) {
    text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]\n`;
  }
  return `${text}${key}: *a${levels}\n`;
}

Deno.test("yaml: alias bombs are refused, not expanded", async () => {
  for (const key of ["name", "resources", "vars", "backup", "database"]) {
    const text = aliasBomb(9, key); // 10^10 nodes if expanded
    const t = performance.now();
    for (const f of [server, crate]) {
      const outcome = await assertTyped(() => f(text));
      assert.ok(outcome === "ok" || outcome === "config", `${key}: ${outcome}`);
    }
    assert.ok(performance.now() - t < 2000, `alias bomb under ${key} took ${performance.now() - t} ms`);
  }
});

Deno.test("yaml: deep nesting is a ConfigError, not a stack overflow", async () => {
  for (const depth of [1_000, 20_000]) {
    for (const text of ["[".repeat(depth), "{a: ".repeat(depth), `x:\n${"- ".repeat(depth)}1`]) {
      for (const f of [server, crate]) {
        const outcome = await assertTyped(() => f(text));
        assert.ok(outcome === "ok" || outcome === "config", `depth ${depth}: ${outcome}`);
      }
    }
  }
});

Deno.test("yaml: time is linear in the text", async () => {
  const shapes: [string, (n: number) => string][] = [
    ["many keys", (n) => Array.from({ length: n }, (_, i) => `k${i}: v`).join("\n")],
    ["many aliases", (n) => `a: &a x\nl: [${Array(n).fill("*a").join(",")}]\n`],
    ["many resources", (n) => `name: c\nresources:\n${"- name: r\n  type: nope\n".repeat(n)}`],
  ];
  for (const [what, make] of shapes) {
    await assertLinear(`yaml ${what}`, make, (x) => {
      for (const f of [server, crate]) {
        try {
          f(x as string);
        } catch { /* only the time matters here */ }
      }
    }, 200);
  }
});

Deno.test("yaml: regression vectors (server.yaml and crates)", async () => {
  await checkVectors("server_yaml", (v) => server(v.input_text ?? ""));
  await checkVectors("crate_yaml", (v) => crate(v.input_text ?? ""));
});
