import { parseCrate } from "./lib/crate/crate_file.ts";
import { parseServerYaml } from "./lib/config/server_yaml_parse.ts";
import { parse, parseDocument } from "yaml";
const opts = { displayPath: "server.yaml", serverYamlPath: "/srv/vigo/server.yaml", serverRoot: "/srv/vigo" };
for (const n of [2000, 20000]) {
  const text = Array.from({ length: n }, (_, i) => `k${i}: v`).join("\n");
  for (const [w, f] of [["crate", () => parseCrate(text, "/c")], ["server", () => parseServerYaml(text, opts)], ["parseU", () => parse(text, {uniqueKeys: true})], ["parseNoU", () => parse(text, {uniqueKeys: false})], ["doc", () => parseDocument(text)]] as const) {
    const t = performance.now();
    try { f(); } catch (e) { /**/ }
    console.log(w, n, (performance.now() - t).toFixed(0), "ms");
  }
}
