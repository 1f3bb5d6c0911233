/**
 * Databases are private however they are opened (issue 13 item 9): a new database and the
 * `-wal`/`-shm` files SQLite creates next to it are 0600 even under a permissive umask, and a
 * database (and sidecars) left readable is fixed when opened.
 */
import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { openDatabase } from "../../lib/store/mod.ts";
import { modeOf } from "./proc.ts";

const isUnix = Deno.build.os !== "windows";
const MIGRATIONS = [{ version: 1, name: "t", sql: "CREATE TABLE t (a INTEGER)" }];

Deno.test({
  name: "private files: a new database and its -wal/-shm are 0600 under umask 022",
  ignore: !isUnix,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tf-private-" });
    const previous = Deno.umask(0o022);
    try {
      const path = join(dir, "x.db");
      const db = openDatabase(path, MIGRATIONS);
      db.exec("INSERT INTO t VALUES (1)");
      for (const f of ["x.db", "x.db-wal", "x.db-shm"]) {
        assertEquals(modeOf(join(dir, f)), "600", f);
      }
      // (Whether the process umask is restored is not asserted here: `deno test --parallel` runs
      // other modules in this process, and they open databases too — the umask is theirs as well.)
      db.close();
    } finally {
      Deno.umask(previous);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "private files: a readable database and its sidecars are made 0600 when opened",
  ignore: !isUnix,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tf-private-" });
    try {
      const path = join(dir, "x.db");
      const first = openDatabase(path, MIGRATIONS);
      first.exec("INSERT INTO t VALUES (1)");
      for (const f of ["x.db", "x.db-wal", "x.db-shm"]) Deno.chmodSync(join(dir, f), 0o644);
      // A second connection while the first holds the sidecars open: all three are fixed.
      const second = openDatabase(path, MIGRATIONS);
      for (const f of ["x.db", "x.db-wal", "x.db-shm"]) {
        assertEquals(modeOf(join(dir, f)), "600", f);
      }
      second.close();
      first.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
