/**
 * A native process (python3's sqlite3) holding a database with `PRAGMA locking_mode=EXCLUSIVE` after
 * one write: every other connection, readers included, then gets "database is locked".
 */

const HOLDER = `
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA locking_mode=EXCLUSIVE")
c.execute(sys.argv[2])
print("holding", flush=True)
time.sleep(120)
`;

/** The holder, once its lock is taken. */
export interface ExclusiveHolder {
  /** Ends the holder (SIGKILL) and waits for it: the lock goes with it. */
  release(): Promise<void>;
}

/** Runs `writeSql` on `db` in EXCLUSIVE locking mode and keeps the connection (the lock) for 2 minutes. */
export async function holdExclusive(db: string, writeSql: string): Promise<ExclusiveHolder> {
  const child = new Deno.Command("python3", { args: ["-c", HOLDER, db, writeSql], stdout: "piped" }).spawn();
  const release = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await child.status;
    await child.stdout.cancel().catch(() => {});
  };
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  if (!new TextDecoder().decode(value ?? new Uint8Array()).includes("holding")) {
    await release();
    throw new Error(`${db}: the holder ended before taking the lock`);
  }
  return { release };
}
