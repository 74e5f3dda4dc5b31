/**
 * Reads a running replicator's `/metrics` for `backup status`. Only the few `vigocli_`/`litestream_`
 * samples status shows are picked out of the text format; anything unexpected is ignored.
 */
import type { LiveReplication } from "./status_model.ts";

/** One parsed sample line. */
export interface ScrapedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the sample lines of Prometheus text format (comments skipped). Pure. */
function parseSamples(text: string): ScrapedSample[] {
  const out: ScrapedSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Picks the facts status shows out of parsed samples. Pure. */
function liveFacts(url: string, samples: ScrapedSample[]): LiveReplication {
  const get = (name: string) => samples.find((s) => s.name === name);
  const num = (name: string) => get(name)?.value ?? null;
  const at = (name: string) => {
    const v = num(name);
    return v === null ? null : new Date(v * 1000).toISOString();
  };
  const seconds = num("vigocli_replication_lag_seconds");
  return {
    url,
    healthy: num("vigocli_replication_healthy") === 1,
    lag_ms: seconds === null ? null : Math.round(seconds * 1000),
    last_upload_at: at("vigocli_last_upload_timestamp_seconds"),
    last_error: get("vigocli_replication_last_error_info")?.labels.message ?? null,
    generation: get("vigocli_replica_generation_info")?.labels.generation ?? null,
    wal_index: num("litestream_replica_wal_index"),
    wal_offset: num("litestream_replica_wal_offset"),
  };
}

/** Fetches `<base>/metrics` within `timeoutMs`; throws on any failure. */
export async function scrapeLive(base: string, timeoutMs = 2000): Promise<LiveReplication> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`${base}/metrics: HTTP ${res.status}`);
  }
  return liveFacts(base, parseSamples(await res.text()));
}
