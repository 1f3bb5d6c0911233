/** The `settings` table: small key/value facts about this installation. */
import { type DatabaseSync, get, run } from "../../store/mod.ts";

/** The `settings` table: small key/value facts about this installation. */
export class SettingsTable {
  constructor(private readonly db: DatabaseSync) {}

  /** The value of `key`, or null. */
  get(key: string): string | null {
    return get<{ value: string }>(this.db, "SELECT value FROM settings WHERE key = ?", key)
      ?.value ?? null;
  }

  /** Sets `key`. */
  set(key: string, value: string) {
    run(
      this.db,
      "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }
}
