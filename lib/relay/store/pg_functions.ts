/**
 * The grouped-accept functions of the PostgreSQL schema, version 5 (pg_schema.ts; issue 21,
 * third pass): `tf_facts_v5` and `tf_accept_group_v5`. Version 4's `tf_facts` and
 * `tf_accept_group` stay as they were, for nodes not upgraded yet (nodes are upgraded one at a
 * time; both versions take the same advisory locks). What changed, and why:
 *
 * - `tf_facts_v5` answers each list item by item, in the order asked (`ids`: the ids that
 *   exist, in the order asked), instead of sorted rows: a node can then restate facts it read
 *   earlier exactly (pg_fact_cache.ts) and let the write check them, in one round trip.
 * - Every look-up is an index probe per item asked (a correlated subquery, or `= ANY` of an
 *   array), whatever the planner guesses for a JSON array: `id IN (SELECT tf_texts(…))` was
 *   hash-joined against a scan of every envelope, twice per group.
 * - It is plpgsql, so its plan is cached per connection; as a SQL function it was planned
 *   again on every call, and so was every `tf_texts` call inside it.
 * - `tf_accept_group_v5` returns `{"seqs": […]}`, or `{"facts": …}` (what it read, under the
 *   locks) when they differ from what the caller expected, so the caller's next round needs
 *   no read. The envelope rows come apart from the plan, as json, and the envelopes and their
 *   deliveries are inserted with one statement each; the plan's `writes` hold only the rarer
 *   steps (pending requests, links, tasks), run one by one in the flows' order.
 * @module
 */

/** Migration 5's SQL. */
export const PG_FUNCTIONS_V5 = `
  CREATE FUNCTION tf_facts_v5(req jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $f$
  BEGIN
    RETURN jsonb_build_object(
      'ids', (SELECT coalesce(jsonb_agg(p.x ORDER BY p.i), '[]')
        FROM jsonb_array_elements_text(req->'ids') WITH ORDINALITY AS p(x, i)
        WHERE p.x = ANY(ARRAY(SELECT e.id FROM envelopes e
          WHERE e.id = ANY(ARRAY(SELECT jsonb_array_elements_text(req->'ids')))))),
      'agents', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          (SELECT to_jsonb(a) FROM agents a WHERE a.handle = p.x) AS v
        FROM jsonb_array_elements_text(req->'agents') WITH ORDINALITY AS p(x, i)) AS q),
      'clients', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          (SELECT to_jsonb(c) FROM clients c WHERE c.id = p.x) AS v
        FROM jsonb_array_elements_text(req->'clients') WITH ORDINALITY AS p(x, i)) AS q),
      'linked', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          EXISTS (SELECT 1 FROM links l JOIN agents s ON s.handle = l.sender
            WHERE l.recipient = p.x->>1 AND s.client_id = p.x->>0) AS v
        FROM jsonb_array_elements(req->'linked') WITH ORDINALITY AS p(x, i)) AS q),
      'grants', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          EXISTS (SELECT 1 FROM invite_grants g
            WHERE g.client_id = p.x->>0 AND g.agent = p.x->>1) AS v
        FROM jsonb_array_elements(req->'grants') WITH ORDINALITY AS p(x, i)) AS q),
      -- [agent, client]: the agent's pending requests to any agent of the client.
      'pending_to', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          (SELECT coalesce(jsonb_agg(jsonb_build_array(r.from_handle, r.to_handle, r.request_id)
              ORDER BY r.to_handle), '[]')
            FROM pending_requests r JOIN agents t ON t.handle = r.to_handle
            WHERE r.from_handle = p.x->>0 AND t.client_id = p.x->>1) AS v
        FROM jsonb_array_elements(req->'pending_to') WITH ORDINALITY AS p(x, i)) AS q),
      'links', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          (SELECT to_jsonb(l.permissions) FROM links l
            WHERE l.sender = p.x->>0 AND l.recipient = p.x->>1) AS v
        FROM jsonb_array_elements(req->'links') WITH ORDINALITY AS p(x, i)) AS q),
      'pending', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          (SELECT to_jsonb(r.request_id) FROM pending_requests r
            WHERE r.from_handle = p.x->>0 AND r.to_handle = p.x->>1) AS v
        FROM jsonb_array_elements(req->'pending') WITH ORDINALITY AS p(x, i)) AS q),
      'tasks', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          (SELECT jsonb_build_object('id', t.id, 'requester', t.requester, 'worker', t.worker,
            'snapshot', t.snapshot) FROM tasks t WHERE t.id = p.x) AS v
        FROM jsonb_array_elements_text(req->'tasks') WITH ORDINALITY AS p(x, i)) AS q),
      -- The terminal states come with the request: TypeScript (protocol/tasks.ts) owns them.
      'open', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          (SELECT count(*) FROM tasks t WHERE t.requester = p.x->>0 AND t.worker = p.x->>1
            AND t.state <> ALL(ARRAY(SELECT jsonb_array_elements_text(req->'terminal')))) AS v
        FROM jsonb_array_elements(req->'open') WITH ORDINALITY AS p(x, i)) AS q),
      'rates', (SELECT coalesce(jsonb_agg(q.v ORDER BY q.i), '[]') FROM (SELECT p.i,
          coalesce((SELECT r.count FROM rate_windows r
            WHERE r.key = p.x->>0 AND r.window_start = (p.x->>1)::bigint), 0) AS v
        FROM jsonb_array_elements(req->'rates') WITH ORDINALITY AS p(x, i)) AS q));
  END $f$;

  CREATE FUNCTION tf_accept_group_v5(req jsonb, expected jsonb, plan jsonb, envs json)
  RETURNS jsonb LANGUAGE plpgsql AS $f$
  DECLARE
    seqs jsonb;
    facts jsonb;
    w jsonb;
  BEGIN
    -- Lock-id order: two nodes never take the same two locks in opposite order.
    PERFORM pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext(x) AS k
      FROM jsonb_array_elements_text(req->'locks') AS x ORDER BY k) AS l;
    PERFORM 1 FROM rate_windows r JOIN jsonb_array_elements(req->'rates') AS p(x)
      ON r.key = p.x->>0 AND r.window_start = (p.x->>1)::bigint
      ORDER BY r.key, r.window_start FOR UPDATE OF r;
    -- Another node changed what the checks read: write nothing; the caller checks again.
    facts := tf_facts_v5(req);
    IF facts IS DISTINCT FROM expected THEN RETURN jsonb_build_object('facts', facts); END IF;
    -- The envelope rows come as plain json (parsed once, straight into rows): as part of the
    -- jsonb plan their bodies were parsed into a tree and copied on every access.
    INSERT INTO envelopes (id, sender_client, from_handle, recipients, type, body, accepted_at)
      SELECT e.id, e.sender_client, e.from_handle, e.recipients, e.type, e.body, e.accepted_at
      FROM json_populate_recordset(NULL::envelopes, envs) AS e;
    -- Sequence values follow the ORDER BY: the n-th smallest seq is the n-th delivery.
    WITH d AS (INSERT INTO deliveries (client_id, kind, envelope_id, created_at)
      SELECT v->>0, 'envelope', v->>1, (v->>2)::bigint
      FROM jsonb_array_elements(plan->'deliveries') WITH ORDINALITY AS x(v, i)
      ORDER BY i RETURNING seq)
    SELECT coalesce(jsonb_agg(seq ORDER BY seq), '[]') INTO seqs FROM d;
    -- The rarer writes, one by one in the order the flows yielded them (a task may be put
    -- twice in a group).
    FOR w IN SELECT jsonb_array_elements(plan->'writes') LOOP
      CASE w->>0
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
    RETURN jsonb_build_object('seqs', seqs);
  END $f$;
`;
