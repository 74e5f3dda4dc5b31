/**
 * Starts a real Debian OpenSSH `sshd` on 127.0.0.1 for SFTP tests: a random free port, its own host
 * key, sshd_config and authorized key in a temp dir, key-only login for the current user (root
 * included, via `PermitRootLogin prohibit-password`). It can be stopped, killed (SIGKILL, as a crash)
 * and restarted on the same port, and can swap its host key to play a "changed host key".
 */
import { join } from "node:path";

/** A running (or stopped) test sshd. */
export interface Sshd {
  host: string;
  port: number;
  /** Current user name (the login user). */
  user: string;
  /** Temp dir holding keys, config and the SFTP root `data/`. */
  dir: string;
  /** A directory on the server the tests may write under. */
  dataDir: string;
  /** Private key authorized for `user`. */
  clientKey: string;
  /** A private key that is NOT authorized. */
  wrongKey: string;
  /** A known_hosts file holding this server's host key as `[127.0.0.1]:PORT ssh-ed25519 …`. */
  knownHosts: string;
  /** The same entry hashed (`|1|salt|hash`), as `ssh-keygen -H` writes it. */
  hashedKnownHosts: string;
  /** SHA256 fingerprint of the host key, as `ssh-keygen -l` prints it (`SHA256:…`). */
  fingerprint: string;
  /** `sftp://user@127.0.0.1:PORT<dataDir>/<sub>` */
  url(sub?: string): string;
  /** Stops sshd gracefully (SIGTERM) and waits for it. */
  stop(): Promise<void>;
  /** Kills sshd and every session child at once (SIGKILL), as a crash or a dropped link. */
  kill(): Promise<void>;
  /** Starts sshd again on the same port. */
  restart(): Promise<void>;
  /** Replaces the host key with a new one (takes effect on the next restart); returns its fingerprint. */
  rotateHostKey(): Promise<string>;
  /** What sshd has printed since it was last started. */
  log(): string;
  /** Stops sshd and removes the temp dir. */
  cleanup(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

async function keygen(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
  await Deno.remove(`${path}.pub`).catch(() => {});
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vigo-test", "-f", path]);
}

async function fingerprintOf(pubPath: string): Promise<string> {
  const out = await run("ssh-keygen", ["-l", "-E", "sha256", "-f", pubPath]);
  return out.split(" ")[1];
}

/** A port that was free a moment ago (the listener is closed before sshd binds it). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(port: number, child: Deno.ChildProcess, log: () => string): Promise<void> {
  const end = Date.now() + 20_000;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < end) {
    if (exited) throw new Error(`sshd exited at start:\n${log()}`);
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`sshd did not listen on ${port}:\n${log()}`);
}

/** Starts an sshd for the current user on a free loopback port; `extraConfig` lines override its sshd_config. */
export async function startSshd(extraConfig: string[] = []): Promise<Sshd> {
  const dir = await Deno.makeTempDir({ prefix: "vigo-sshd-" });
  const user = Deno.env.get("USER") ?? (await run("id", ["-un"])).trim();
  const hostKey = join(dir, "host_ed25519");
  const clientKey = join(dir, "client_ed25519");
  const wrongKey = join(dir, "wrong_ed25519");
  const dataDir = join(dir, "data");
  await Deno.mkdir(dataDir);
  await Promise.all([keygen(hostKey), keygen(clientKey), keygen(wrongKey)]);
  await Deno.copyFile(`${clientKey}.pub`, join(dir, "authorized_keys"));
  // sshd refuses to start without its privilege-separation directory.
  await Deno.mkdir("/run/sshd", { recursive: true }).catch(() => {});
  const port = freePort();
  const config = join(dir, "sshd_config");
  await Deno.writeTextFile(
    config,
    [
      // sshd takes the first value of each keyword: these override the defaults below.
      ...extraConfig,
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "StrictModes no",
      "UsePAM no",
      "MaxStartups 100",
      "MaxSessions 100",
      "LogLevel ERROR",
      // Subsystem is the one keyword sshd refuses twice rather than taking the first.
      ...(extraConfig.some((l) => /^Subsystem\s+sftp\b/i.test(l)) ? [] : ["Subsystem sftp internal-sftp"]),
      "",
    ].join("\n"),
  );
  const knownHosts = join(dir, "known_hosts");
  const hashedKnownHosts = join(dir, "known_hosts_hashed");
  const writeKnownHosts = async () => {
    const pub = (await Deno.readTextFile(`${hostKey}.pub`)).trim().split(" ").slice(0, 2).join(" ");
    await Deno.writeTextFile(knownHosts, `[127.0.0.1]:${port} ${pub}\n`);
    await Deno.writeTextFile(hashedKnownHosts, `[127.0.0.1]:${port} ${pub}\n`);
    await run("ssh-keygen", ["-q", "-H", "-f", hashedKnownHosts]);
    await Deno.remove(`${hashedKnownHosts}.old`).catch(() => {});
  };
  await writeKnownHosts();

  let child: Deno.ChildProcess | undefined;
  let log = "";
  const start = async () => {
    log = "";
    child = new Deno.Command("/usr/sbin/sshd", {
      args: ["-D", "-e", "-f", config],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const dec = new TextDecoder();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) log += dec.decode(c, { stream: true });
    };
    void pump(child.stdout);
    void pump(child.stderr);
    await waitForPort(port, child, () => log);
  };
  const halt = async (signal: Deno.Signal) => {
    if (!child) return;
    const c = child;
    child = undefined;
    const kids = signal === "SIGKILL" ? await sessionPidsOf(c.pid) : [];
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
    for (const pid of kids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await c.status;
  };
  const sessionPidsOf = async (pid: number) => {
    const all: number[] = [];
    const queue = [pid];
    while (queue.length) {
      const p = queue.shift()!;
      const out = await new Deno.Command("pgrep", { args: ["-P", String(p)], stdout: "piped" }).output();
      const kids = new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
      all.push(...kids);
      queue.push(...kids);
    }
    return all;
  };
  await start();
  let fingerprint = await fingerprintOf(`${hostKey}.pub`);
  const sshd: Sshd = {
    host: "127.0.0.1",
    port,
    user,
    dir,
    dataDir,
    clientKey,
    wrongKey,
    knownHosts,
    hashedKnownHosts,
    get fingerprint() {
      return fingerprint;
    },
    url: (sub = "") => `sftp://${user}@127.0.0.1:${port}${dataDir}${sub ? `/${sub}` : ""}`,
    stop: () => halt("SIGTERM"),
    kill: () => halt("SIGKILL"),
    restart: async () => {
      await halt("SIGTERM");
      await start();
    },
    log: () => log,
    async rotateHostKey() {
      await keygen(hostKey);
      fingerprint = await fingerprintOf(`${hostKey}.pub`);
      return fingerprint;
    },
    async cleanup() {
      await halt("SIGKILL");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  return sshd;
}
