/**
 * The operations of the crash matrix, each a fresh world per kill: create, restore, replicate, replica restore,
 * crate run (backup and db_backup), download, upload, upload --replace, prune and secret set. `scale` sizes the data (1 for the
 * suite's sample, larger for `scripts/crash_matrix.ts --full`) so kills spread over a longer run.
 */
import type { Scenario } from "./crash_harness.ts";
import { create, download, prune, restore, upload, uploadReplace } from "./archive_scenarios.ts";
import { crateBackup, crateDbBackup, replicaRestore, replicate, secretSet } from "./service_scenarios.ts";

/** Every scenario of the matrix. */
export function crashScenarios(scale = 1): Scenario[] {
  return [
    create(scale),
    restore(scale),
    replicate(scale),
    replicaRestore(),
    crateBackup(scale),
    crateDbBackup(scale),
    download(),
    upload(),
    uploadReplace(),
    prune(),
    secretSet(),
  ];
}
