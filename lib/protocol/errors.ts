/**
 * The one error catalogue. Every refusal anywhere in TaskFerry (relay, daemon, CLI, SDK) uses a
 * code from here, so agents can branch on stable strings and docs/api.md can list them once.
 */
export const ERRORS = {
  // Generic request problems.
  bad_request: { status: 400, message: "The request is malformed." },
  invalid_json: { status: 400, message: "The body is not valid JSON." },
  validation_failed: { status: 400, message: "The request does not match the schema." },
  unsupported_media_type: { status: 415, message: "Send the body as application/json." },
  body_too_large: { status: 413, message: "The body exceeds the size limit." },
  unauthorized: { status: 401, message: "Missing or invalid credentials." },
  forbidden: { status: 403, message: "This action is not allowed." },
  bad_host: { status: 403, message: "The Host header must name a loopback address." },
  not_found: { status: 404, message: "No such resource." },
  method_not_allowed: { status: 405, message: "Method not allowed on this route." },
  conflict: { status: 409, message: "The request conflicts with the current state." },
  rate_limited: { status: 429, message: "Too many requests; slow down and retry." },
  internal: { status: 500, message: "Internal error." },
  unavailable: { status: 503, message: "The service is not available right now." },
  timeout: { status: 504, message: "Timed out waiting for the result." },
  payload_too_deep: {
    status: 400,
    message: "The JSON nests deeper than the protocol allows (64 levels).",
  },

  // Identity and registry.
  invalid_handle: {
    status: 400,
    message: "Handles are @owner/name, each part 1-32 chars of lowercase a-z, 0-9, '_' or '-'.",
  },
  handle_not_owned: {
    status: 403,
    message: "This client may only use handles in its own namespace (@<client_id>/...).",
  },
  handle_taken: { status: 409, message: "That handle is registered to another key or client." },
  bad_proof: { status: 401, message: "The proof-of-possession signature does not verify." },
  rotation_not_signed: {
    status: 403,
    message: "A key rotation must be signed by the currently registered key.",
  },
  unknown_agent: { status: 404, message: "No agent with that handle is known." },
  invite_not_found: { status: 404, message: "No such invite." },
  invite_expired: { status: 410, message: "The invite has expired or was revoked." },
  client_revoked: { status: 401, message: "This client was revoked by the relay operator." },
  too_many_agents: {
    status: 403,
    message: "This client has as many agents as the relay allows; ask the operator for more.",
  },

  // Envelope checks (design §7), in the order the relay applies them.
  envelope_too_large: { status: 413, message: "The envelope exceeds the size limit." },
  invalid_envelope: { status: 400, message: "The envelope does not match the schema." },
  unsupported_version: { status: 400, message: "Unsupported protocol version." },
  sender_not_owned: { status: 403, message: "The sender handle does not belong to this client." },
  device_mismatch: { status: 403, message: "The envelope's device_id does not match the session." },
  bad_signature: { status: 401, message: "The envelope signature does not verify." },
  duplicate_envelope: { status: 409, message: "An envelope with this id was already accepted." },
  clock_skew: { status: 400, message: "created_at is outside the accepted clock-skew window." },
  unknown_recipient: { status: 404, message: "A recipient is not registered on this relay." },
  not_connected: { status: 403, message: "Sender and recipient have no connection." },
  permission_denied: {
    status: 403,
    message: "The connection's permissions do not allow this message type.",
  },
  task_role: { status: 403, message: "Only the task's other party in the right role may do this." },
  too_many_open_tasks: {
    status: 429,
    message: "The connection's limit of open tasks is reached.",
  },
  connection_not_pending: {
    status: 409,
    message: "There is no pending connection request from that peer to answer.",
  },

  // Decryption and payloads.
  not_a_recipient: { status: 403, message: "This envelope is not addressed to that agent." },
  decrypt_failed: { status: 400, message: "The envelope could not be decrypted." },
  invalid_payload: { status: 400, message: "The decrypted payload does not match its schema." },
  key_changed: {
    status: 409,
    message: "The peer's key differs from the pinned key; the owner must decide.",
  },

  // Tasks.
  task_not_found: { status: 404, message: "No such task." },
  illegal_transition: { status: 409, message: "That action is not allowed in the task's state." },
  max_revisions_reached: {
    status: 409,
    message: "The task has used all the revisions it allows.",
  },
  artifact_version_mismatch: {
    status: 409,
    message: "Artifact versions must go 1, 2, 3, … without gaps.",
  },
  task_expired: { status: 409, message: "The task's deadline has passed." },
  gate_pending: { status: 409, message: "The task waits for the owner's approval." },
  no_candidates: {
    status: 409,
    message: "No connected peer advertises that capability: connect one, or name the agents.",
  },

  // Storage.
  keys_locked: {
    status: 503,
    message: "The agents' private keys are protected and this daemon has not unlocked them.",
  },
  database_too_new: {
    status: 500,
    message: "The database was written by a newer TaskFerry; upgrade before opening it.",
  },

  // Files and blobs (design §12, docs/protocol.md §15).
  invalid_file_name: {
    status: 400,
    message: "A file name is one path component: no / or \\, no .., no control characters.",
  },
  blob_corrupt: {
    status: 422,
    message: "A blob chunk failed authentication, or the file's size or SHA-256 differ.",
  },
  blob_truncated: { status: 422, message: "The blob ends before its final chunk." },
  blob_not_found: { status: 404, message: "No such blob on this relay." },
  blob_access_denied: {
    status: 403,
    message: "Only the uploading client may write a blob, and only recipients of an accepted " +
      "envelope that names it may read it.",
  },
  blob_chunk_invalid: {
    status: 400,
    message: "The chunk index or chunk size does not fit the blob's format and stated size.",
  },
  blob_incomplete: {
    status: 409,
    message: "The blob is missing chunks; upload them (GET the blob to see which) and finalize.",
  },
  blob_finalized: { status: 409, message: "The blob is finalized and can no longer change." },
  blob_too_large: {
    status: 413,
    message: "The file exceeds the relay's maximum file size.",
  },
  // Files on the daemon (docs/api.md, "Files").
  file_path_refused: {
    status: 403,
    message: "Attach files by an absolute path without .., inside the daemon's files root " +
      "(--files-root, default the user's home).",
  },
  file_not_regular: {
    status: 400,
    message: "Only regular files can be attached, not a directory, device, pipe or socket.",
  },
  file_not_found: { status: 404, message: "No such file: check the path or file id." },
  file_not_ready: {
    status: 409,
    message: "The file is still being transferred, or failed; its state says which.",
  },
  quota_exceeded: {
    status: 403,
    message: "This client's blob storage quota is used up; wait for blobs to expire or be fetched.",
  },

  // Idempotency keys of the loopback API (docs/api.md, "Idempotency keys").
  idempotency_conflict: {
    status: 409,
    message: "This Idempotency-Key was already used with another request; send a new key.",
  },
  idempotency_in_progress: {
    status: 409,
    message: "The first request with this Idempotency-Key streamed its answer, which is not " +
      "replayed; read the result by id or send a new key.",
  },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code from the catalogue. */
export type ErrorCode = keyof typeof ERRORS;

/** The JSON shape every API answers errors with. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/**
 * A typed error: handlers throw it; one place per server turns it into a JSON response.
 * `options.cause` keeps the underlying error (a zod error, a socket error) for logs; it is
 * never put in the response body.
 */
export class TaskferryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown, options?: ErrorOptions) {
    super(message ?? ERRORS[code].message, options);
    this.name = "TaskferryError";
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  /** The JSON body for this error. */
  toBody(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** True when `code` is a catalogue code. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERRORS, code);
}

/** Shorthand: `throw fail("not_found", "no task task_…")`; `options.cause` as for Error. */
export function fail(
  code: ErrorCode,
  message?: string,
  details?: unknown,
  options?: ErrorOptions,
): TaskferryError {
  return new TaskferryError(code, message, details, options);
}
