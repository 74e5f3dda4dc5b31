/**
 * Finds the snapshot resources a drill can check: every configcrate file under
 * `<root>/stacks/configcrates/**` (`.yaml`, `.yml`) with resources of type `backup` or `db_backup`.
 * Configcrates also hold resources for other executors (package, file, service); the crate loader
 * leaves those out (`skipOtherExecutors`) rather than refusing them.
 */
import { type CrateResource, loadCrateFile } from "../crate/crate_file.ts";
import { configcrateFiles } from "../crate/configcrates.ts";

/** A snapshot resource and the crate file that declares it. */
export interface FoundResource {
  crateFile: string;
  resource: CrateResource;
}

/** The backup and db_backup resources of the server's configcrates. Throws ConfigError on a bad crate. */
export function findSnapshotResources(serverRoot: string): FoundResource[] {
  return configcrateFiles(serverRoot).flatMap((crateFile) =>
    loadCrateFile(crateFile, { skipOtherExecutors: true }).resources.map((resource) => ({
      crateFile,
      resource,
    }))
  );
}
