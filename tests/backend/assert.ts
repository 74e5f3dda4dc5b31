/** The three assertions the backend tests use, on node:assert (JSR's @std/assert is unreachable here). */
import nodeAssert from "node:assert/strict";

/** Fails with `msg` unless `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Calls and awaits `fn()`, requires it to throw or reject (with an instance of `cls` when given), returns the error. */
export async function assertRejects(
  fn: () => unknown,
  cls?: new (...args: never[]) => Error,
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (cls && !(err instanceof cls)) {
      throw new Error(`expected ${cls.name}, got ${(err as Error)?.name}: ${(err as Error)?.message}`, {
        cause: err,
      });
    }
    return err as Error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}
