/** This process's open descriptors (Linux, /proc), for tests that prove a failure or a close leaks none. */

/** What each open descriptor points at; a removed file reads "<path> (deleted)". */
export function openDescriptors(): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      found.push(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
    } catch {
      // closed between the listing and the look (the listing's own descriptor, for one)
    }
  }
  return found;
}
