/** The relay store's schema on PostgreSQL (DDL only; versions match sqlite_schema.ts). */
import { PG_FUNCTIONS_V5 } from "./pg_functions.ts";
import { ROWS_CHANNEL } from "./pg_row_cache.ts";

/** PostgreSQL migrations, in order. */
export const PG_MIGRATIONS: { version: number; name: string; sql: string }[] = [{
  version: 1,
  name: "relay schema",
  sql: `
    CREATE TABLE clients (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at BIGINT NOT NULL,
      revoked_at BIGINT);
    CREATE TABLE agents (handle TEXT PRIMARY KEY, client_id TEXT NOT NULL REFERENCES clients(id),
      signing_public_key TEXT NOT NULL, encryption_public_key TEXT NOT NULL, profile TEXT NOT NULL,
      public BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
    CREATE INDEX agents_public ON agents(public, handle);
    CREATE TABLE invites (code TEXT PRIMARY KEY, agent TEXT NOT NULL REFERENCES agents(handle),
      client_id TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
      revoked BOOLEAN NOT NULL DEFAULT false, uses INTEGER NOT NULL DEFAULT 0, max_uses INTEGER);
    CREATE TABLE invite_grants (client_id TEXT NOT NULL, agent TEXT NOT NULL, created_at BIGINT NOT NULL,
      PRIMARY KEY (client_id, agent));
    CREATE TABLE links (sender TEXT NOT NULL, recipient TEXT NOT NULL, permissions TEXT NOT NULL,
      created_at BIGINT NOT NULL, PRIMARY KEY (sender, recipient));
    CREATE INDEX links_recipient ON links(recipient);
    CREATE TABLE pending_requests (from_handle TEXT NOT NULL, to_handle TEXT NOT NULL,
      request_id TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (from_handle, to_handle));
    CREATE TABLE tasks (id TEXT PRIMARY KEY, requester TEXT NOT NULL, worker TEXT NOT NULL,
      state TEXT NOT NULL, snapshot TEXT NOT NULL, updated_at BIGINT NOT NULL);
    CREATE INDEX tasks_parties ON tasks(requester, worker, state);
    CREATE TABLE envelopes (id TEXT PRIMARY KEY, sender_client TEXT NOT NULL, from_handle TEXT NOT NULL,
      recipients TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, accepted_at BIGINT NOT NULL);
    CREATE INDEX envelopes_accepted ON envelopes(accepted_at);
    CREATE TABLE deliveries (seq BIGSERIAL PRIMARY KEY, client_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('envelope', 'receipt')), envelope_id TEXT NOT NULL, body TEXT,
      state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, done_at BIGINT);
    CREATE INDEX deliveries_pending ON deliveries(client_id, state, seq);
    CREATE INDEX deliveries_done ON deliveries(state, done_at);
    CREATE INDEX deliveries_created ON deliveries(state, created_at);
    CREATE INDEX deliveries_envelope ON deliveries(envelope_id);
    -- Which node holds each client's session (a client has one session at a time).
    CREATE TABLE relay_sessions (client_id TEXT PRIMARY KEY, node_id TEXT NOT NULL,
      connected_at BIGINT NOT NULL);
    -- Rate-limit windows shared by every node.
    CREATE TABLE rate_windows (key TEXT NOT NULL, window_start BIGINT NOT NULL, count INTEGER NOT NULL,
      PRIMARY KEY (key, window_start));
  `,
}, {
  version: 2,
  name: "partial delivery indexes",
  // Acking a delivery changes its state: with (state, …) indexes that is a delete and an
  // insert in each of three indexes. Partial indexes hold only the rows each query looks
  // for, so an ack removes two entries and adds one, and an insert adds two (issue 21).
  sql: `
    DROP INDEX deliveries_pending;
    DROP INDEX deliveries_done;
    DROP INDEX deliveries_created;
    CREATE INDEX deliveries_pending ON deliveries(client_id, seq) WHERE state = 'pending';
    CREATE INDEX deliveries_done ON deliveries(done_at) WHERE state != 'pending';
    CREATE INDEX deliveries_created ON deliveries(created_at) WHERE state = 'pending';
  `,
}, {
  version: 3,
  name: "relay settings",
  // Facts the relay remembers across starts (its public URL), read by the operator verbs.
  sql: `CREATE TABLE relay_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL,
    updated_at BIGINT NOT NULL);`,
}, {
  version: 4,
  name: "grouped accepts",
  // A node accepts a turn's envelopes in two round trips (lib/relay/pg_group.ts): tf_facts
  // reads every fact the routing checks asked for (the checks run in TypeScript on them), then
  // tf_accept_group, one autocommit statement, takes the advisory locks, checks that the facts
  // are unchanged and writes the group's rows. The locks live only inside that statement, so
  // no lock is held while a node waits on the network. The writes mirror pg_queries.ts
  // (envelopeAdd, deliveryAdd, pendingPut, pendingDelete, linkAdd, taskPut): same parameters,
  // in the order the flows (flows.ts) yielded them.
  sql: `
    CREATE FUNCTION tf_texts(j jsonb) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS
      $f$ SELECT jsonb_array_elements_text(coalesce(j, '[]')) $f$;
    CREATE FUNCTION tf_pairs(j jsonb) RETURNS TABLE (a text, b text) LANGUAGE sql IMMUTABLE AS
      $f$ SELECT p->>0, p->>1 FROM jsonb_array_elements(coalesce(j, '[]')) AS p $f$;
    CREATE FUNCTION tf_facts(req jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $f$
      SELECT jsonb_build_object(
        'ids', (SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') FROM envelopes
          WHERE id IN (SELECT tf_texts(req->'ids'))),
        'agents', (SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.handle), '[]') FROM agents a
          WHERE a.handle IN (SELECT tf_texts(req->'agents'))),
        'clients', (SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.id), '[]') FROM clients c
          WHERE c.id IN (SELECT tf_texts(req->'clients'))),
        'linked', (SELECT coalesce(jsonb_agg(jsonb_build_array(p.a, p.b) ORDER BY p.a, p.b), '[]')
          FROM tf_pairs(req->'linked') p WHERE EXISTS (SELECT 1 FROM links l
            JOIN agents s ON s.handle = l.sender WHERE l.recipient = p.b AND s.client_id = p.a)),
        'grants', (SELECT coalesce(jsonb_agg(jsonb_build_array(p.a, p.b) ORDER BY p.a, p.b), '[]')
          FROM tf_pairs(req->'grants') p WHERE EXISTS (SELECT 1 FROM invite_grants g
            WHERE g.client_id = p.a AND g.agent = p.b)),
        'pending_to', (SELECT coalesce(jsonb_agg(jsonb_build_array(r.from_handle, r.to_handle,
            r.request_id) ORDER BY r.from_handle, r.to_handle), '[]')
          FROM (SELECT DISTINCT r.* FROM tf_pairs(req->'pending_to') p
            JOIN pending_requests r ON r.from_handle = p.a
            JOIN agents t ON t.handle = r.to_handle AND t.client_id = p.b) AS r),
        'links', (SELECT coalesce(jsonb_agg(jsonb_build_array(l.sender, l.recipient, l.permissions)
            ORDER BY l.sender, l.recipient), '[]')
          FROM links l JOIN tf_pairs(req->'links') p ON l.sender = p.a AND l.recipient = p.b),
        'pending', (SELECT coalesce(jsonb_agg(jsonb_build_array(r.from_handle, r.to_handle,
            r.request_id) ORDER BY r.from_handle, r.to_handle), '[]') FROM pending_requests r
          JOIN tf_pairs(req->'pending') p ON r.from_handle = p.a AND r.to_handle = p.b),
        'tasks', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'requester',
            t.requester, 'worker', t.worker, 'snapshot', t.snapshot) ORDER BY t.id), '[]')
          FROM tasks t WHERE t.id IN (SELECT tf_texts(req->'tasks'))),
        -- The terminal states come with the request: TypeScript (protocol/tasks.ts) owns them.
        'open', (SELECT coalesce(jsonb_agg(jsonb_build_array(p.a, p.b, (SELECT count(*) FROM tasks t
            WHERE t.requester = p.a AND t.worker = p.b
              AND t.state NOT IN (SELECT tf_texts(req->'terminal')))) ORDER BY p.a, p.b), '[]')
          FROM tf_pairs(req->'open') p),
        'rates', (SELECT coalesce(jsonb_agg(jsonb_build_array(p.a, p.b::bigint, coalesce(
            (SELECT r.count FROM rate_windows r WHERE r.key = p.a AND r.window_start = p.b::bigint),
            0)) ORDER BY p.a, p.b), '[]') FROM tf_pairs(req->'rates') p))
    $f$;
    CREATE FUNCTION tf_accept_group(req jsonb, expected jsonb, plan jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $f$
    DECLARE
      seqs jsonb := '[]';
      w jsonb;
      s bigint;
    BEGIN
      -- Lock-id order: two nodes never take the same two locks in opposite order.
      PERFORM pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext(x) AS k
        FROM tf_texts(req->'locks') AS x ORDER BY k) AS l;
      PERFORM 1 FROM rate_windows r JOIN tf_pairs(req->'rates') p
        ON r.key = p.a AND r.window_start = p.b::bigint ORDER BY r.key, r.window_start FOR UPDATE OF r;
      -- Another node changed what the checks read: write nothing; the caller reads again.
      IF tf_facts(req) IS DISTINCT FROM expected THEN RETURN NULL; END IF;
      FOR w IN SELECT jsonb_array_elements(plan->'writes') LOOP
        CASE w->>0
        WHEN 'envelopeAdd' THEN
          INSERT INTO envelopes (id, sender_client, from_handle, recipients, type, body, accepted_at)
          VALUES (w->>1, w->>2, w->>3, w->>4, w->>5, w->>6, (w->>7)::bigint);
        WHEN 'deliveryAdd' THEN
          INSERT INTO deliveries (client_id, kind, envelope_id, created_at)
          VALUES (w->>1, 'envelope', w->>2, (w->>3)::bigint) RETURNING seq INTO s;
          seqs := seqs || to_jsonb(s);
        WHEN 'pendingPut' THEN
          INSERT INTO pending_requests (from_handle, to_handle, request_id, created_at)
          VALUES (w->>1, w->>2, w->>3, (w->>4)::bigint) ON CONFLICT (from_handle, to_handle)
          DO UPDATE SET request_id = excluded.request_id, created_at = excluded.created_at;
        WHEN 'pendingDelete' THEN
          DELETE FROM pending_requests WHERE from_handle = w->>1 AND to_handle = w->>2;
        WHEN 'linkAdd' THEN
          INSERT INTO links (sender, recipient, permissions, created_at)
          VALUES (w->>1, w->>2, w->>3, (w->>4)::bigint) ON CONFLICT (sender, recipient) DO NOTHING;
        WHEN 'taskPut' THEN
          INSERT INTO tasks (id, requester, worker, state, snapshot, updated_at)
          VALUES (w->>1, w->>2, w->>3, w->>4, w->>5, (w->>6)::bigint) ON CONFLICT (id) DO UPDATE
          SET worker = excluded.worker, state = excluded.state, snapshot = excluded.snapshot,
            updated_at = excluded.updated_at;
        END CASE;
      END LOOP;
      INSERT INTO rate_windows (key, window_start, count)
        SELECT r->>0, (r->>1)::bigint, (r->>2)::int FROM jsonb_array_elements(plan->'rates') AS r
        ORDER BY 1, 2
        ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + excluded.count;
      RETURN seqs;
    END $f$;
  `,
}, {
  version: 5,
  name: "accepts in one round trip; acks delete",
  // tf_facts_v5 answers item by item in the order asked, so a node can restate facts it read
  // before and have tf_accept_group_v5 check them (pg_fact_cache.ts); see pg_functions.ts.
  // Version 4's functions stay for nodes not upgraded yet.
  // An ack deletes its delivery (pg_acks.ts): an UPDATE of `state` is never HOT, so it wrote
  // a whole new row and three index entries; a DELETE marks the row. What "last seen" read
  // from delivered rows, client_acks keeps: each client's newest ack. Only deliveries still
  // pending need finding by envelope (pruneEnvelopes), and receipts never.
  sql: PG_FUNCTIONS_V5 + `
    CREATE TABLE client_acks (client_id TEXT PRIMARY KEY, acked_at BIGINT NOT NULL);
    DROP INDEX deliveries_envelope;
    CREATE INDEX deliveries_envelope ON deliveries(envelope_id)
      WHERE state = 'pending' AND kind = 'envelope';
  `,
}, {
  version: 6,
  name: "client and agent changes notify the nodes",
  // Nodes keep client and agent rows (store/pg_row_cache.ts); every change, by a node or by
  // \`taskferry relay revoke-client\` in another process, tells them at its COMMIT. The key
  // follows a newline-free prefix: "c\n" + client id, "a\n" + handle.
  sql: `
    CREATE FUNCTION tf_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $f$
    DECLARE
      prefix text := CASE TG_TABLE_NAME WHEN 'clients' THEN 'c' ELSE 'a' END || chr(10);
    BEGIN
      IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('${ROWS_CHANNEL}', prefix || (to_jsonb(OLD) ->> TG_ARGV[0]));
      END IF;
      IF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('${ROWS_CHANNEL}', prefix || (to_jsonb(NEW) ->> TG_ARGV[0]));
      END IF;
      RETURN NULL;
    END $f$;
    CREATE TRIGGER clients_changed AFTER UPDATE OR DELETE ON clients
      FOR EACH ROW EXECUTE FUNCTION tf_rows_changed('id');
    CREATE TRIGGER agents_changed AFTER UPDATE OR DELETE ON agents
      FOR EACH ROW EXECUTE FUNCTION tf_rows_changed('handle');
  `,
}, {
  version: 7,
  name: "acks delete on SQLite too",
  sql: "SELECT 1;", // PostgreSQL's acks have deleted since version 5. In step.
}];
