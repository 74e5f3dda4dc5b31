/**
 * The man page says what `--help` says: every option as `--help` shows it (default, choices, environment
 * variable), the global options, and text that reads the same in every locale and fits 80 columns.
 */
import assert from "node:assert/strict";
import { buildProgram } from "../../lib/cli/program.ts";
import { commandSpec, flattenSpec } from "../../lib/cli/command_spec.ts";
import { manPage } from "../../lib/cli/man_page.ts";
import type { Command } from "@commander-js/extra-typings";

const spec = async () => commandSpec(await buildProgram() as unknown as Command);

/** man(1)'s rendering of the page at 80 columns under `lang`, and what it said on stderr. */
async function render(page: string, lang = "C.UTF-8"): Promise<{ text: string; stderr: string }> {
  const file = await Deno.makeTempFile({ suffix: ".1" });
  await Deno.writeTextFile(file, page);
  const out = await new Deno.Command("man", {
    args: ["-l", file],
    env: { PATH: Deno.env.get("PATH")!, LANG: lang, LC_ALL: lang, MANWIDTH: "80", MANPAGER: "cat" },
  }).output();
  await Deno.remove(file);
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  return { text: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `text` with man's hyphenation undone and every run of white space one space. */
const flat = (text: string) =>
  text.replace(/[‐-]\n\s*/g, (m) => m[0] === "-" ? "-" : "").replace(/\s+/g, " ");

/** The section of the rendered page that starts at the heading `name`. */
const section = (text: string, name: string) => text.split(`\n${name}\n`)[1].split(/\n[A-Z][A-Z ]+\n/)[0];

Deno.test("man page: every option is described as --help describes it, defaults, choices and env included", async () => {
  const s = await spec();
  const text = flat((await render(manPage(s, "0.0.0", "2026-01-01"))).text);
  for (const c of flattenSpec(s).slice(1)) {
    for (const o of c.options.filter((o) => !o.hidden)) {
      // the page's "..." for "…" reads the same in every locale
      const said = `${o.flags} ${o.help}`.replaceAll("…", "...");
      assert.ok(text.includes(said), `vigocli ${c.path.join(" ")} ${said}`);
    }
  }
  for (
    const said of [
      '(default: "/srv/vigo", env: VIGO_SERVER_ROOT)',
      '(default: "/srv/vigo/server.yaml", env: VIGO_SERVER_YAML)',
      '(choices: "rfc3339", "compact", default: "rfc3339")',
      "(default: 30s)",
      '(choices: "debug", "info", "warn", "error", default: info, or error with -q)',
      "(env: VIGO_STATUS_TOKEN)",
    ]
  ) assert.ok(text.includes(said), said);
});

Deno.test("man page: ENVIRONMENT names every variable an option reads", async () => {
  const s = await spec();
  const env = section((await render(manPage(s, "0.0.0", "2026-01-01"))).text, "ENVIRONMENT");
  const vars = new Set(flattenSpec(s).flatMap((c) => c.options.flatMap((o) => o.envVar ? [o.envVar] : [])));
  assert.ok(vars.has("VIGO_STATUS_TOKEN"));
  for (const v of vars) assert.match(env, new RegExp(`^ {7}${v}\\b`, "m"), v);
});

Deno.test("man page: OPTIONS describes the global options, as vigocli --help lists them", async () => {
  const s = await spec();
  const options = flat(section((await render(manPage(s, "0.0.0", "2026-01-01"))).text, "OPTIONS"));
  for (const flags of ["-V, --version", "-v, --verbose", "-q, --quiet", "--progress", "-h, --help"]) {
    assert.ok(options.includes(` ${flags} `), flags);
  }
  for (const o of s.options) assert.ok(options.includes(`${o.flags} ${o.help}`), o.flags);
});

Deno.test("man page: all ASCII, so LANG=C renders every character, with no warning", async () => {
  const page = manPage(await spec(), "0.0.0", "2026-01-01");
  assert.deepEqual(page.match(/[\u0080-\u{10ffff}]/gu) ?? [], []);
  const c = await render(page, "C");
  assert.equal(c.stderr, "");
  assert.match(flat(c.text), /endpoint\.\.\. \(see/);
  // each character our texts use reads as its ASCII look-alike
  const root = { ...(await spec()), description: "a—b c–d e→f g×h i…j" };
  const text = (await render(manPage(root, "0.0.0", "2026-01-01"), "C")).text;
  assert.match(text, /a--b c-d e->f gxh i\.\.\.j/);
});

Deno.test("man page: every line fits MANWIDTH=80, the examples continued with \\ where they are long", async () => {
  const { text } = await render(manPage(await spec(), "0.0.0", "2026-01-01"));
  assert.deepEqual(text.split("\n").filter((l) => [...l].length > 80), []);
  assert.match(section(text, "EXAMPLES"), / \\\n {11}\S/);
});
