/** splitObjectUrl: an archive object URL (`backup restore URL`) is its backend root plus one key. */
import assert from "node:assert/strict";
import { splitObjectUrl } from "../../lib/archive/remote_archives.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("splitObjectUrl: root and percent-decoded key; no key or no path is a config error", () => {
  assert.deepEqual(splitObjectUrl("s3://bucket/vigo/archives/a.tar.gz"), {
    root: "s3://bucket/vigo/archives",
    key: "a.tar.gz",
  });
  assert.deepEqual(splitObjectUrl("sftp://h/srv/archives/b%20c.tar.gz"), {
    root: "sftp://h/srv/archives",
    key: "b c.tar.gz",
  });
  // As `list --remote` prints it: a "%" that is no encoding is part of the name (it was "URI malformed").
  assert.deepEqual(splitObjectUrl("file:///r/archives/50%.tar.gz"), {
    root: "file:///r/archives",
    key: "50%.tar.gz",
  });
  for (const url of ["s3://bucket", "s3://bucket/", "gcs://"]) {
    assert.throws(() => splitObjectUrl(url), ConfigError, url);
  }
});

Deno.test("splitObjectUrl: the error names the URL without its sftp password", () => {
  assert.throws(
    () => splitObjectUrl("sftp://vigo:hunter2@backup.example/"),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        "sftp://vigo@backup.example/: expected the URL of an archive object, " +
          "e.g. sftp://host/path/archives/NAME.tar.gz",
      );
      return true;
    },
  );
});
