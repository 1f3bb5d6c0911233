/**
 * The relay's operator output: the lines printed after start (where the data is, who may join,
 * what to run next) and the `relay list-clients` table.
 */
import type { RelayOptions, RelayStore } from "../relay/mod.ts";

/** What an operator needs after start: where the data is, who may join, what to run next. */
export async function startBanner(
  store: RelayStore,
  database: string,
  options: Partial<RelayOptions>,
): Promise<string> {
  const clients = await store.listClients();
  const active = clients.filter((c) => c.revoked_at === null).length;
  const revoked = clients.length - active;
  return [
    `  database    ${database}`,
    `  signup      ${
      options.openSignup
        ? `open: anyone can get a client at ${options.publicUrl}/signup`
        : "closed: clients come from 'taskferry relay add-client NAME' (--open-signup opens it)"
    }`,
    `  clients     ${active} active${revoked ? `, ${revoked} revoked` : ""}`,
    `next: taskferry relay add-client NAME   (prints the setup link for NAME's daemon)`,
  ].join("\n");
}

/** The `list-clients` table: a header, then one row per client (revoked ones marked). */
export async function listClients(store: RelayStore, json: boolean): Promise<number> {
  const [clients, seen] = await Promise.all([store.listClients(), store.clientsLastSeen()]);
  const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);
  const rows = clients.map((c) => ({
    client_id: c.id,
    created_at: iso(c.created_at)!,
    last_seen: iso(seen.get(c.id)),
    revoked: c.revoked_at !== null,
    revoked_at: iso(c.revoked_at),
  }));
  if (json) console.log(JSON.stringify({ clients: rows }));
  else if (rows.length === 0) console.log("no clients yet: taskferry relay add-client NAME");
  else {
    const width = Math.max(6, ...rows.map((r) => r.client_id.length)) + 2;
    const line = (cols: string[]) =>
      `${cols[0]!.padEnd(width)}${cols.slice(1).map((c) => c.padEnd(26)).join("")}`.trimEnd();
    console.log(line(["CLIENT", "CREATED", "LAST SEEN", "REVOKED"]));
    for (const r of rows) {
      console.log(line([r.client_id, r.created_at, r.last_seen ?? "never", r.revoked_at ?? "-"]));
    }
  }
  return 0;
}
