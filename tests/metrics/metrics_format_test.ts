/**
 * The Prometheus text renderer, read back by a real parser (npm parse-prometheus-text-format):
 * escaping of label values and help text, empty families left out; listen-address parsing.
 */
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import { renderPrometheus } from "../../lib/metrics/prometheus_text.ts";
import { isLoopback, parseListenAddr } from "../../lib/net/listen_addr.ts";
import { UsageError } from "../../lib/errors.ts";

Deno.test("prometheus text: escaped labels and help survive a real parser", () => {
  const text = renderPrometheus([
    {
      name: "vigocli_replication_last_error_info",
      help: 'last "error"\\ with a\nnewline',
      type: "gauge",
      samples: [{
        labels: { db: "/srv/vigo/db/vigo.db", message: 'PUT "x": 503\nretry \\ later' },
        value: 1,
      }],
    },
    {
      name: "litestream_sync_count",
      help: "syncs",
      type: "counter",
      samples: [{ labels: { db: "a" }, value: 7 }],
    },
    { name: "vigocli_empty", help: "none", type: "gauge", samples: [] },
  ]);
  const parsed = parsePrometheus(text);
  assertEquals(parsed.map((f: { name: string }) => f.name), [
    "vigocli_replication_last_error_info",
    "litestream_sync_count",
  ]);
  assertEquals(parsed[0].metrics[0].labels.message, 'PUT "x": 503\nretry \\ later');
  assertEquals(parsed[1].type, "COUNTER");
  assertEquals(parsed[1].metrics[0].value, "7");
});

Deno.test("listen addresses: host:port, [v6]:port, :port; anything else is a usage error", () => {
  assertEquals(parseListenAddr("127.0.0.1:9090", "--addr"), { host: "127.0.0.1", port: 9090 });
  assertEquals(parseListenAddr("[::1]:0", "--addr"), { host: "::1", port: 0 });
  assertEquals(parseListenAddr(":8080", "--addr"), { host: "0.0.0.0", port: 8080 });
  assertEquals(parseListenAddr("localhost:65535", "--addr"), { host: "localhost", port: 65535 });
  // Digits and dots are read as inet_aton reads them, as the lookup behind listen() does (listen(0, "0")
  // binds 0.0.0.0), and given as the dotted quad that binds.
  for (
    const [addr, host] of [
      ["0:9090", "0.0.0.0"],
      ["127.1:9090", "127.0.0.1"],
      ["1.2.3:9090", "1.2.0.3"],
      ["10.65536:9090", "10.1.0.0"],
      ["4294967295:9090", "255.255.255.255"],
      ["010.0.0.1:9090", "8.0.0.1"],
      ["127.0.0.01:9090", "127.0.0.1"],
    ]
  ) {
    assertEquals(parseListenAddr(addr, "--addr"), { host, port: 9090 }, addr);
  }
  assertEquals(isLoopback(parseListenAddr("127.1:0", "--serve").host), true);
  for (
    const bad of [
      "9090",
      "host",
      "1.2.3.4:70000",
      "a b:1",
      "",
      "256.1.1.1:9090",
      "1.2.3.4.5:9090",
      "1.2.65536:9090",
      "1.16777216:9090",
      "4294967296:9090",
      "09.0.0.1:9090",
      "1..2:9090",
      "1.2.3.:9090",
      "[::g]:80",
    ]
  ) {
    throws(() => parseListenAddr(bad, "--addr"), UsageError, bad);
  }
  assertEquals([isLoopback("127.0.0.1"), isLoopback("::1"), isLoopback("0.0.0.0"), isLoopback("10.0.0.1")], [
    true,
    true,
    false,
    false,
  ]);
});
