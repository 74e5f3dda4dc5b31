/** The file:// backend as the registry (lib/backends.ts) lists it. */
import type { BackendDescriptor } from "../descriptor.ts";
import { pathToFileURL } from "node:url";
import { FileBackend, fileUrlToRoot } from "./file_backend.ts";

/** A local directory needs no settings beyond its URL. */
export interface FileConfig {
  readonly scheme: "file";
}

/** `file:///dir` (or a plain absolute path). */
export const fileBackend: BackendDescriptor<FileConfig> = {
  scheme: "file",
  optionKeys: [],
  parseConfig: () => ({ scheme: "file" }),
  redact: (url) => url,
  checkUrl: (url) => pathToFileURL(fileUrlToRoot(url)).href,
  open: (url) => Promise.resolve(new FileBackend(url)),
  // A local failure (disk full, permission, I/O error) does not go away by asking again.
  isRetryable: () => false,
};
