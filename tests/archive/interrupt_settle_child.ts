/**
 * Child of interrupt_cleanup_test.ts: work run by runInterruptible that, once stopped, creates and
 * registers a temporary path (as a create whose pin was still waiting would) and then takes a moment to
 * reject with the stop's reason. Prints "ready" when the signal may come.
 */
import { writeFileSync } from "node:fs";
import { removeOnInterrupt, runInterruptible } from "../../lib/archive/interrupt_cleanup.ts";

const late = Deno.args[0];
await runInterruptible(async (signal) => {
  console.log("ready");
  await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
  removeOnInterrupt(late);
  writeFileSync(late, "half-written");
  await new Promise((r) => setTimeout(r, 100));
  throw signal.reason;
}, (outcome) => `stopped: ${outcome.kind}`);
