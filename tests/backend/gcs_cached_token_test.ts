/**
 * CachedToken (lib/backend/gcs/adc.ts) with a provider whose answers the test sets: a refresh that fails
 * inside the margin keeps the token held in use until a fifth of the margin is left, tries again only
 * after its pause, and a token refused by the API (invalidated) is never fallen back on.
 */
import { type AccessToken, CachedToken, type TokenProvider } from "../../lib/backend/gcs/adc.ts";
import { TransientError } from "../../lib/backend/retry.ts";
import { assertEquals, assertRejects } from "./assert.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A provider that hands out `next` results in order: a lifetime in ms, or "down". */
function provider(next: (number | "down")[]): TokenProvider & { calls: number } {
  const p = {
    source: "test provider",
    calls: 0,
    fetchToken(): Promise<AccessToken> {
      const n = next[p.calls++];
      if (n === "down") return Promise.reject(new TransientError("token endpoint unreachable"));
      return Promise.resolve({ token: `t${p.calls}`, expiresAt: Date.now() + n });
    },
  };
  return p;
}

Deno.test("gcs token: the endpoint down inside the refresh margin leaves the held token in use until it nears its end", async () => {
  // Margin 1000 ms (a fifth: 200 ms), pause between failed refreshes 300 ms; the token lives 1400 ms.
  const p = provider([1400, "down", "down", "down"]);
  const cache = new CachedToken(p, 1000, 300);
  assertEquals(await cache.token(), "t1");
  await sleep(500); // inside the margin: a refresh is due, and fails
  assertEquals(await cache.token(), "t1");
  assertEquals(p.calls, 2);
  assertEquals(await cache.token(), "t1", "within the pause: the held token, no new try");
  assertEquals(p.calls, 2);
  await sleep(350);
  assertEquals(await cache.token(), "t1", "after the pause: tried again, failed, the held token still");
  assertEquals(p.calls, 3);
  await sleep(400); // 1250 ms in: 150 ms left, under a fifth of the margin
  await assertRejects(() => cache.token(), TransientError);
});

Deno.test("gcs token: a token the API refused is not fallen back on when the refresh fails", async () => {
  const p = provider([1400, "down"]);
  const cache = new CachedToken(p, 1000, 300);
  assertEquals(await cache.token(), "t1");
  cache.invalidate();
  await assertRejects(() => cache.token(), TransientError);
});
