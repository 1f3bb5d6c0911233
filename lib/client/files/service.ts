/**
 * The daemon's files (design §12) in one object: the vault under `$home/files/`, the attach
 * rule's root, the background transfers, and what the routes and views ask of them.
 */
import { fail, type FileRef, MAX_BLOB_SIZE, newId } from "../../protocol/mod.ts";
import type { Daemon } from "../daemon.ts";
import type { LocalFileRow } from "../store/mod.ts";
import { type FileInput, prepareFiles } from "./attach.ts";
import { RelayBlobs } from "./relay_blobs.ts";
import { FileTransfers } from "./transfers.ts";
import { FileVault } from "./vault.ts";
import { type FileView, fileView } from "./views.ts";
import { checkFileName } from "../../protocol/mod.ts";
import { mediaTypeOf } from "./media.ts";

/** Where a daemon keeps files and which local paths it may attach. */
export interface FilesOptions {
  /** `$home/files`. */
  dir: string;
  /** Attachable paths must be inside this directory (default: the user's home; null: none). */
  root: string | null;
}

/**
 * The user's home, the default files root; null when there is none (a service user without a
 * home attaches nothing by path until `--files-root` says where).
 */
export function defaultFilesRoot(): string | null {
  return Deno.env.get("HOME") || Deno.env.get("USERPROFILE") || null;
}

/** A daemon's files. */
export class DaemonFiles {
  readonly vault: FileVault | null;
  readonly transfers: FileTransfers | null;
  private unsubscribe: () => void = () => {};

  private readonly blobs: RelayBlobs | null;

  constructor(
    private readonly d: Daemon,
    private readonly options: FilesOptions | null,
    relay: { url: string; token: string; caCerts?: string[] | undefined } | null,
  ) {
    this.vault = options ? new FileVault(options.dir) : null;
    this.blobs = relay ? new RelayBlobs(relay.url, relay.token, relay.caCerts) : null;
    this.transfers = this.vault ? new FileTransfers(d, this.vault, this.blobs) : null;
  }

  private requireVault(): FileVault {
    if (!this.vault) throw fail("unavailable", "this daemon has no home to keep files in");
    return this.vault;
  }

  /** The root attachable paths must be inside (null: no path may be attached). */
  get root(): string | null {
    return this.options ? this.options.root : defaultFilesRoot();
  }

  /** Describes `inputs` for a payload (stores each once by hash). */
  prepare(inputs: FileInput[]): Promise<FileRef[]> {
    return prepareFiles(this.requireVault(), this.d.store, this.root, inputs);
  }

  /** Stores a posted file (`POST /v1/files`); its id can then be attached. */
  async post(
    body: AsyncIterable<Uint8Array>,
    name: string,
    mediaType: string | undefined,
  ): Promise<LocalFileRow> {
    checkFileName(name);
    const stored = await this.requireVault().importStream(body, MAX_BLOB_SIZE);
    const row: LocalFileRow = {
      id: newId("blob"),
      name,
      size: stored.size,
      media_type: mediaType ?? mediaTypeOf(name),
      sha256: stored.sha256,
      created_at: this.d.nowIso(),
    };
    this.d.store.files.insertLocal(row);
    return row;
  }

  /** The files of message `id` as `agent` sees them (empty when none). */
  viewsOf(messageId: string, agent: string): FileView[] {
    return this.d.store.files.ofMessage(messageId, agent).map(fileView);
  }

  /**
   * A verified file for `GET /v1/files/{id}`: only a local agent that sent or received it (the
   * acting agent resolves like messages), only once it is ready.
   */
  async open(id: string, agent: string | undefined) {
    const holders = this.d.store.files.agentsOf(id);
    if (holders.length === 0) throw fail("file_not_found", `no file ${id}`);
    const acting = this.d.keyring.acting(agent, holders);
    const row = this.d.store.files.get(id, acting);
    if (!row) throw fail("file_not_found", `${acting} has no file ${id}`);
    if (row.state !== "ready") {
      throw fail(
        "file_not_ready",
        `${row.name} is ${row.state}${row.error ? `: ${row.error}` : ""}`,
      );
    }
    const file = await Deno.open(this.requireVault().pathOf(row.sha256), { read: true });
    return { row, file };
  }

  /** Starts the transfers left pending (after a restart), and again whenever the relay is back. */
  start() {
    this.unsubscribe = this.d.events.subscribe((e) => {
      if (e.type !== "relay") return;
      // A dropped link means the relay may be gone: requests in flight to it are abandoned
      // (they would hang until their timeout) and retried when it is back.
      if (e.data.connected) this.transfers?.relayUp();
      else this.blobs?.abortInFlight();
    });
    this.transfers?.kick();
  }

  /** Stops between chunks. */
  async stop() {
    this.unsubscribe();
    await this.transfers?.stop();
  }
}
