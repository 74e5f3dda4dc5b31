/**
 * Which other processes have a file open, read from /proc (Linux), for a message that names who holds
 * a database where SQLite's locks only say that someone does. Empty where /proc is missing or its
 * entries cannot be read (another user's processes, unless root; another PID namespace).
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { basename } from "node:path";
import process from "node:process";

/** One process holding the file open. */
export interface FileHolder {
  pid: number;
  /** Its program name and first two arguments, each cut short: enough to recognise, not a whole argv. */
  command: string;
}

/** The processes other than this one with `path` open (best effort, see the module comment). */
export function fileHolders(path: string): FileHolder[] {
  let wanted: string;
  let pids: string[];
  try {
    wanted = realpathSync(path);
    pids = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const out: FileHolder[] = [];
  for (const name of pids) {
    if (Number(name) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${name}/fd/${fd}`) === wanted;
      } catch {
        return false;
      }
    });
    if (holds) out.push({ pid: Number(name), command: commandOf(name) });
  }
  return out;
}

function commandOf(pid: string): string {
  try {
    const words = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).slice(0, 3);
    if (words.length === 0) return "?";
    words[0] = basename(words[0]);
    return words.map((w) => (w.length > 40 ? `${w.slice(0, 37)}...` : w)).join(" ");
  } catch {
    return "?";
  }
}
