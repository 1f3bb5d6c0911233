/**
 * How the relay stores write their logic once for two dialects: an operation is a generator
 * ("flow") that yields the statements it needs by name and receives their results. SQLite runs
 * a flow synchronously (node:sqlite is synchronous, and a transaction must not await: other
 * code would run inside it); PostgreSQL runs the same flow with an await per statement. The
 * SQL text comes from each dialect's query table (sqlite_queries.ts, pg_queries.ts).
 * @module
 */

/** Every statement a flow can ask for; each dialect's table gives its SQL. */
export type QueryName =
  | "clientAdd"
  | "clientGet"
  | "clientList"
  | "clientRevoke"
  | "clientSetToken"
  | "clientLastSeen"
  | "agentGet"
  | "agentPut"
  | "agentListPublic"
  | "agentCountOfClient"
  | "inviteAdd"
  | "inviteGet"
  | "inviteLock"
  | "inviteRevoke"
  | "inviteCountUse"
  | "grantGet"
  | "grantAdd"
  | "linkGet"
  | "linkAdd"
  | "linkSetPermissions"
  | "linkFromClient"
  | "pendingGet"
  | "pendingPut"
  | "pendingDelete"
  | "pendingToClient"
  | "taskGet"
  | "taskPut"
  | "taskCountOpen"
  | "envelopeExists"
  | "envelopeAdd"
  | "envelopeForReceipt"
  | "deliveryAdd"
  | "receiptAdd"
  | "deliveriesPending"
  | "deliveryAck"
  | "deliveryNoteAttempt"
  | "deliveriesExpire"
  | "pruneAcks"
  | "pruneDeliveries"
  | "pruneEnvelopes"
  | "pruneGrants"
  | "pruneRates"
  | "stats"
  | "settingGet"
  | "settingPut";

/**
 * A dialect's SQL for every statement. `null` means the dialect has nothing to do for it (a
 * flow then gets no rows and a count of 0).
 */
export type QueryTable = Readonly<Record<QueryName, string | null>>;

/** A statement parameter. */
export type Param = string | number | boolean | null;

/** A result row, as the driver returns it (decoded by rules.ts). */
export type Row = Record<string, unknown>;

/** One statement a flow asks its dialect to run: for its rows, or for its changed-row count. */
export interface Step {
  name: QueryName;
  params: Param[];
  want: "rows" | "count";
}

/** A store operation written once: yields steps, returns the operation's result. */
export type Flow<T> = Generator<Step, T, unknown>;

/** Asks for the rows of `name` (use with `yield*`). */
export function* rows(name: QueryName, ...params: Param[]): Generator<Step, Row[], unknown> {
  return (yield { name, params, want: "rows" }) as Row[];
}

/** Asks for the first row of `name`, or undefined (use with `yield*`). */
export function* row(
  name: QueryName,
  ...params: Param[]
): Generator<Step, Row | undefined, unknown> {
  return ((yield { name, params, want: "rows" }) as Row[])[0];
}

/** Asks how many rows `name` changed (use with `yield*`). */
export function* count(name: QueryName, ...params: Param[]): Generator<Step, number, unknown> {
  return (yield { name, params, want: "count" }) as number;
}

/** Runs `flow` with a synchronous executor (SQLite). */
export function runSync<T>(flow: Flow<T>, exec: (step: Step) => Row[] | number): T {
  let next = flow.next();
  while (!next.done) next = flow.next(exec(next.value));
  return next.value;
}

/** Runs `flow` with an asynchronous executor (PostgreSQL), one statement at a time. */
export async function runAsync<T>(
  flow: Flow<T>,
  exec: (step: Step) => Promise<Row[] | number>,
): Promise<T> {
  let next = flow.next();
  while (!next.done) next = flow.next(await exec(next.value));
  return next.value;
}
