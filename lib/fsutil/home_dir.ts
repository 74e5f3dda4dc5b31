/**
 * The user's home directory, when there is one. A uid with no passwd entry and HOME unset (a systemd
 * DynamicUser, `setpriv --reuid`, a container's arbitrary uid) has none: Bun's os.homedir() then throws
 * ENOENT (which reached the user as "vigocli: no such file or directory", naming no file), Deno's returns
 * null. Per-user files (~/.ssh, ~/.config/gcloud, a `~/` path) are then simply absent, not an error of
 * every command that reads server.yaml.
 */
import { homedir, userInfo } from "node:os";
import process from "node:process";

/** The home directory, or undefined when HOME is unset and the passwd database has no entry. */
export function homeDirOrNone(lookup: () => string | null = homedir): string | undefined {
  try {
    return lookup() || undefined;
  } catch {
    return undefined;
  }
}

/** The login name (USER, else the passwd entry's), or undefined when neither exists. */
export function userNameOrNone(
  env: Record<string, string | undefined> = process.env,
  lookup: () => { username: string } = userInfo,
): string | undefined {
  if (env.USER) return env.USER;
  try {
    return lookup().username || undefined;
  } catch {
    return undefined;
  }
}

function noEntry(variable: string): string {
  return `${variable} is unset and uid ${process.getuid?.() ?? "?"} has no passwd entry`;
}

/** Why a `~/` path cannot be resolved, for the message naming it. */
export function noHomeReason(): string {
  return `no home directory (${noEntry("HOME")})`;
}

/** Why there is no login name, for the message asking for one. */
export function noUserReason(): string {
  return `no user name to log in as (${noEntry("USER")})`;
}
