import { DatabaseSync } from "node:sqlite";
import { assert, assertCode, assertEquals, assertThrows } from "../assert.ts";
import {
  all,
  get,
  type Migration,
  openDatabase,
  run,
  schemaVersion,
  transaction,
} from "../../lib/store/mod.ts";

/** Runs `fn` with a fresh temp dir that is removed afterwards. */
async function withTempDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "taskferry-sqlite-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function pragma(db: DatabaseSync, name: string): unknown {
  return Object.values(get(db, `PRAGMA ${name}`) ?? {})[0];
}

function tableNames(db: DatabaseSync): string[] {
  return all<{ name: string }>(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY 1")
    .map((r) => r.name);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

const BASE: Migration[] = [
  { version: 1, name: "items", sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)" },
  {
    version: 2,
    name: "tags",
    sql: "CREATE TABLE tags (item INTEGER NOT NULL REFERENCES items(id), tag TEXT NOT NULL)",
  },
];

Deno.test("openDatabase sets busy_timeout, WAL, synchronous=NORMAL and foreign_keys", async () => {
  await withTempDir((dir) => {
    const db = openDatabase(`${dir}/a.db`, BASE);
    try {
      assertEquals(pragma(db, "busy_timeout"), 5000);
      assertEquals(pragma(db, "journal_mode"), "wal");
      assertEquals(pragma(db, "synchronous"), 1); // 1 = NORMAL
      assertEquals(pragma(db, "foreign_keys"), 1);
      // foreign_keys is not just reported but enforced.
      assertThrows(() => run(db, "INSERT INTO tags (item, tag) VALUES (42, 'x')"));
    } finally {
      db.close();
    }
  });
});

Deno.test("openDatabase honours busyTimeoutMs", async () => {
  await withTempDir((dir) => {
    const db = openDatabase(`${dir}/a.db`, BASE, { busyTimeoutMs: 250 });
    try {
      assertEquals(pragma(db, "busy_timeout"), 250);
    } finally {
      db.close();
    }
  });
});

Deno.test("an in-memory database skips WAL but gets the other pragmas", () => {
  const db = openDatabase(":memory:", BASE);
  try {
    assertEquals(pragma(db, "journal_mode"), "memory");
    assertEquals(pragma(db, "synchronous"), 1);
    assertEquals(pragma(db, "foreign_keys"), 1);
    assertEquals(schemaVersion(db), 2);
  } finally {
    db.close();
  }
});

Deno.test("a file database in WAL mode has a -wal file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/wal.db`;
    const db = openDatabase(path, BASE);
    try {
      run(db, "INSERT INTO items (v) VALUES (?)", "x");
      assert(await exists(`${path}-wal`), "expected a -wal file next to the database");
    } finally {
      db.close();
    }
  });
});

Deno.test("migrations run in order, once each, across reopen", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/m.db`;
    const calls: number[] = [];
    const step = (version: number): Migration => ({
      version,
      name: `step${version}`,
      up(db) {
        calls.push(version);
        run(db, "INSERT INTO log (version) VALUES (?)", version);
      },
    });
    const first: Migration[] = [
      { version: 1, name: "log", sql: "CREATE TABLE log (version INTEGER NOT NULL)" },
      step(2),
      step(5), // gaps are allowed; order is what matters
    ];

    let db = openDatabase(path, first);
    assertEquals(calls, [2, 5]);
    assertEquals(schemaVersion(db), 5);
    db.close();

    db = openDatabase(path, first);
    assertEquals(calls, [2, 5], "reopening must not rerun migrations");
    db.close();

    db = openDatabase(path, [...first, step(6)]);
    try {
      assertEquals(calls, [2, 5, 6], "only the new migration runs");
      assertEquals(all(db, "SELECT version FROM log"), [{ version: 2 }, { version: 5 }, {
        version: 6,
      }]);
      assertEquals(
        all<{ version: number; name: string }>(
          db,
          "SELECT version, name FROM schema_migrations ORDER BY version",
        ).map((r) => [r.version, r.name]),
        [[1, "log"], [2, "step2"], [5, "step5"], [6, "step6"]],
      );
      assertEquals(schemaVersion(db), 6);
    } finally {
      db.close();
    }
  });
});

Deno.test("migrations must be ascending and have exactly one of sql/up", () => {
  const bad: Migration[][] = [
    [BASE[1]!, BASE[0]!],
    [BASE[0]!, BASE[0]!],
    [{ version: 0, name: "zero", sql: "SELECT 1" }],
    [{ version: 1.5, name: "half", sql: "SELECT 1" }],
    [{ version: 1, name: "neither" } as unknown as Migration],
  ];
  for (const migrations of bad) assertThrows(() => openDatabase(":memory:", migrations), TypeError);
});

Deno.test("a database newer than the code is refused and left untouched", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/new.db`;
    const raw = new DatabaseSync(path);
    raw.exec("CREATE TABLE future (x INTEGER); INSERT INTO future VALUES (1);");
    raw.exec("PRAGMA user_version = 7");
    raw.close();
    const before = await Deno.readFile(path);

    const err = await assertCode(() => openDatabase(path, BASE), "database_too_new");
    assertEquals(err.status, 500);
    for (const part of [path, "7", "2", "upgrade TaskFerry"]) {
      assert(err.message.includes(part), `message should mention ${part}: ${err.message}`);
    }

    assertEquals(await Deno.readFile(path), before, "the file must not change");
    assert(!(await exists(`${path}-wal`)), "no WAL file may be created");
    const check = new DatabaseSync(path);
    try {
      assertEquals(pragma(check, "user_version"), 7);
      assertEquals(pragma(check, "journal_mode"), "delete");
      assertEquals(tableNames(check), ["future"]);
    } finally {
      check.close();
    }
  });
});

Deno.test("a database at exactly the latest version opens", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/same.db`;
    openDatabase(path, BASE).close();
    const db = openDatabase(path, BASE);
    try {
      assertEquals(schemaVersion(db), 2);
    } finally {
      db.close();
    }
  });
});

Deno.test("a failing migration rolls back and leaves the version unchanged", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/fail.db`;
    openDatabase(path, [BASE[0]!]).close();

    const failing: Migration = {
      version: 2,
      name: "half_done",
      // The first statement succeeds; the second fails, and both must be undone.
      sql: "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);",
    };
    const err = assertThrows(() => openDatabase(path, [BASE[0]!, failing]));
    assert(err.message.includes("migration 2 (half_done)"), err.message);
    assert(err.message.includes(path), err.message);
    assert(err.cause instanceof Error, "the SQLite error is kept as the cause");

    const db = openDatabase(path, [BASE[0]!]);
    try {
      assertEquals(schemaVersion(db), 1);
      assertEquals(tableNames(db), ["items", "schema_migrations"]);
      assertEquals(all(db, "SELECT version FROM schema_migrations"), [{ version: 1 }]);
    } finally {
      db.close();
    }
  });
});

Deno.test("a failing first migration leaves an empty database at version 0", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/fail0.db`;
    const boom: Migration = {
      version: 1,
      name: "boom",
      up(db) {
        db.exec("CREATE TABLE t (x INTEGER)");
        throw new Error("boom");
      },
    };
    const err = assertThrows(() => openDatabase(path, [boom]));
    assert(err.message.includes("boom"), err.message);
    const raw = new DatabaseSync(path);
    try {
      assertEquals(pragma(raw, "user_version"), 0);
      assertEquals(tableNames(raw), []);
    } finally {
      raw.close();
    }
  });
});

Deno.test("a migration that leaves a foreign key violation fails", () => {
  const migrations: Migration[] = [
    ...BASE,
    { version: 3, name: "orphan", sql: "INSERT INTO tags (item, tag) VALUES (99, 'orphan')" },
  ];
  const err = assertThrows(() => openDatabase(":memory:", migrations));
  assert(err.message.includes("foreign key"), err.message);
});

Deno.test("transaction commits, returns the result, and rolls back on throw", () => {
  const db = openDatabase(":memory:", BASE);
  try {
    const id = transaction(
      db,
      () => run(db, "INSERT INTO items (v) VALUES ('kept')").lastInsertRowid,
    );
    assertEquals(id, 1);

    const boom = new Error("boom");
    const thrown = assertThrows(() =>
      transaction(db, () => {
        run(db, "INSERT INTO items (v) VALUES ('lost')");
        throw boom;
      })
    );
    assertEquals(thrown, boom, "the original error is rethrown");
    assertEquals(db.isTransaction, false);
    assertEquals(all(db, "SELECT v FROM items"), [{ v: "kept" }]);
  } finally {
    db.close();
  }
});

Deno.test("nested transactions use savepoints", () => {
  const db = openDatabase(":memory:", BASE);
  try {
    transaction(db, () => {
      run(db, "INSERT INTO items (v) VALUES ('outer-1')");
      assertThrows(() =>
        transaction(db, () => {
          run(db, "INSERT INTO items (v) VALUES ('inner')");
          transaction(db, () => run(db, "INSERT INTO items (v) VALUES ('inner-inner')"));
          throw new Error("inner fails");
        })
      );
      assert(db.isTransaction, "the outer transaction stays open");
      transaction(db, () => run(db, "INSERT INTO items (v) VALUES ('inner-ok')"));
      run(db, "INSERT INTO items (v) VALUES ('outer-2')");
    });
    assertEquals(all<{ v: string }>(db, "SELECT v FROM items ORDER BY id").map((r) => r.v), [
      "outer-1",
      "inner-ok",
      "outer-2",
    ]);

    // An inner failure the outer callback does not catch undoes everything.
    assertThrows(() =>
      transaction(db, () => {
        run(db, "INSERT INTO items (v) VALUES ('gone-1')");
        transaction(db, () => {
          run(db, "INSERT INTO items (v) VALUES ('gone-2')");
          throw new Error("inner fails");
        });
      })
    );
    assertEquals(get(db, "SELECT count(*) AS n FROM items"), { n: 3 });
    assertEquals(db.isTransaction, false);
  } finally {
    db.close();
  }
});

Deno.test("transaction refuses an async callback and rolls back", () => {
  const db = openDatabase(":memory:", BASE);
  try {
    assertThrows(
      () =>
        transaction(db, () => {
          run(db, "INSERT INTO items (v) VALUES ('async')");
          return Promise.resolve(1);
        }),
      TypeError,
    );
    assertEquals(db.isTransaction, false);
    assertEquals(get(db, "SELECT count(*) AS n FROM items"), { n: 0 });
  } finally {
    db.close();
  }
});

Deno.test("a second connection sees the writer's lock and waits busy_timeout", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/busy.db`;
    const writer = openDatabase(path, BASE);
    const other = openDatabase(path, BASE, { busyTimeoutMs: 50 });
    try {
      writer.exec("BEGIN IMMEDIATE");
      const started = performance.now();
      const err = assertThrows(() => transaction(other, () => 1));
      assert(/locked|busy/i.test(err.message), err.message);
      assert(performance.now() - started >= 40, "it waited for the lock");
      writer.exec("ROLLBACK");
      assertEquals(transaction(other, () => 2), 2);
    } finally {
      writer.close();
      other.close();
    }
  });
});

Deno.test("get/all return plain objects; get returns undefined for no row", () => {
  const db = openDatabase(":memory:", BASE);
  try {
    run(db, "INSERT INTO items (v) VALUES (?), (?)", "a", "b");
    const row = get<{ v: string }>(db, "SELECT v FROM items WHERE id = ?", 1);
    assertEquals(row, { v: "a" });
    assertEquals(Object.getPrototypeOf(row), Object.prototype);
    assertEquals(get(db, "SELECT v FROM items WHERE id = ?", 99), undefined);
    assertEquals(all(db, "SELECT id, v FROM items ORDER BY id"), [{ id: 1, v: "a" }, {
      id: 2,
      v: "b",
    }]);
  } finally {
    db.close();
  }
});

Deno.test("opening a path in a missing directory names the path", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/missing/x.db`;
    const err = assertThrows(() => openDatabase(path, BASE));
    assert(err.message.includes(path), err.message);
  });
});
