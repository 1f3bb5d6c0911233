/**
 * The daemon's history store: the one home of every SQL statement and migration of the daemon
 * (design §9). Each table group has its own file with named operations; nothing else in
 * lib/client writes SQL. Like the relay's RelayStore, callers say what they need
 * (`connections.isConnected(a, b)`, `audit.append(…)`), never how it is stored.
 */
import { type DatabaseSync, openDatabase, transaction } from "../../store/mod.ts";
import { AgentTable } from "./agents.ts";
import { ArtifactTable } from "./artifacts.ts";
import { AuditTable } from "./audit.ts";
import { ConnectionTable } from "./connections.ts";
import { FileTable } from "./files.ts";
import { HistoryQueries } from "./history.ts";
import { IDEMPOTENCY_MIGRATION, IdempotencyTable } from "./idempotency.ts";
import { InboxTable } from "./inbox.ts";
import { InviteTable } from "./invites.ts";
import { MessageTable } from "./messages.ts";
import { OutboxTable } from "./outbox.ts";
import { PeerTable } from "./peers.ts";
import { QuarantineTable } from "./quarantine.ts";
import { CLIENT_MIGRATIONS } from "./schema.ts";
import { SettingsTable } from "./settings.ts";
import { TASK_LEASES_MIGRATION, TaskTable } from "./tasks.ts";
import { AgentTokenTable } from "./tokens.ts";

export type { LocalAgentRow, StoredKeys } from "./agents.ts";
export type { ArtifactRow } from "./artifacts.ts";
export type { TaskEventRow, TimelineRow } from "./audit.ts";
export type { ConnectionRow } from "./connections.ts";
export type { FileRow, LocalFileRow } from "./files.ts";
export type { ConversationRow, MessageFilter } from "./history.ts";
export type { IdempotencyRow } from "./idempotency.ts";
export type { InviteRow } from "./invites.ts";
export type { MessageRow, OutboundState, StateCause } from "./messages.ts";
export type { OutboxItem } from "./outbox.ts";
export type { PeerRow } from "./peers.ts";
export type { QuarantineMeta, QuarantineRow } from "./quarantine.ts";
export type { TaskRow } from "./tasks.ts";
export type { AgentTokenRow } from "./tokens.ts";
// Appended last, in its own entry: the idempotency keys of the loopback API.
CLIENT_MIGRATIONS.push(IDEMPOTENCY_MIGRATION);
// Then, in its own entry: leases of offered tasks (issue 17).
CLIENT_MIGRATIONS.push(TASK_LEASES_MIGRATION);
export { CLIENT_MIGRATIONS };

/** Counts the health route reports. */
export interface StoreCounts {
  agents: number;
  connections: number;
  pending_connections: number;
  open_tasks: number;
  outbox_pending: number;
  quarantined: number;
  gated_tasks: number;
}

/** Every table of the daemon's database, behind named operations. */
export class DaemonStore {
  readonly settings: SettingsTable;
  readonly agents: AgentTable;
  readonly peers: PeerTable;
  readonly connections: ConnectionTable;
  readonly messages: MessageTable;
  readonly inbox: InboxTable;
  readonly history: HistoryQueries;
  readonly tasks: TaskTable;
  readonly artifacts: ArtifactTable;
  readonly audit: AuditTable;
  readonly quarantine: QuarantineTable;
  readonly outbox: OutboxTable;
  readonly invites: InviteTable;
  readonly tokens: AgentTokenTable;
  readonly idempotency: IdempotencyTable;
  /** Files (design §12). */
  readonly files: FileTable;

  /**
   * @param onCommit called after each outermost transaction commits (the daemon's WAL
   * checkpointer counts them; lib/store/checkpoint.ts).
   */
  constructor(readonly db: DatabaseSync, private readonly onCommit: () => void = () => {}) {
    this.settings = new SettingsTable(db);
    this.agents = new AgentTable(db);
    this.peers = new PeerTable(db);
    this.connections = new ConnectionTable(db);
    this.messages = new MessageTable(db);
    this.inbox = new InboxTable(db);
    this.history = new HistoryQueries(db);
    this.tasks = new TaskTable(db);
    this.artifacts = new ArtifactTable(db);
    this.audit = new AuditTable(db);
    this.quarantine = new QuarantineTable(db);
    this.outbox = new OutboxTable(db);
    this.invites = new InviteTable(db);
    this.tokens = new AgentTokenTable(db);
    this.idempotency = new IdempotencyTable(db);
    this.files = new FileTable(db);
  }

  /** Opens (migrating) the daemon database at `path`. */
  static open(path: string): DaemonStore {
    return new DaemonStore(openDatabase(path, CLIENT_MIGRATIONS));
  }

  /** Runs `fn` in one transaction (nested calls use savepoints). `fn` must be synchronous. */
  transaction<T>(fn: () => T): T {
    if (this.db.isTransaction) return transaction(this.db, fn);
    const result = transaction(this.db, fn);
    this.onCommit();
    return result;
  }

  /** The counts `GET /v1/health` reports. */
  counts(): StoreCounts {
    return {
      agents: this.agents.count(),
      connections: this.connections.count("connected"),
      pending_connections: this.connections.count("pending_in"),
      open_tasks: this.tasks.countOpen(),
      outbox_pending: this.outbox.countPending(),
      quarantined: this.quarantine.countOpen(),
      gated_tasks: this.tasks.countGated(),
    };
  }

  /** Closes the database. */
  close() {
    this.db.close();
  }
}
