/**
 * Plaintext payloads: one strict zod schema per message type (docs/protocol.md §10). Every
 * string, including those inside free-form JSON, must be well-formed Unicode (wellformed.ts),
 * so whatever a schema accepts can be signed, hashed and UTF-8 encoded.
 */
import { z } from "zod";
import { fileNameProblem, MAX_BLOB_SIZE, MAX_FILES } from "./blob.ts";
import { RECEIPT_STATES } from "./delivery.ts";
import { PermissionsPatchSchema } from "./permissions.ts";
import { BlobIdSchema, MessageIdSchema, type MessageType, TimestampSchema } from "./schemas.ts";
import { JsonObjectSchema, JsonValueSchema, wellFormed } from "./wellformed.ts";

const text = (max: number) => wellFormed(0, max);
const MAX_TEXT = 1_000_000;
/** Most envelope ids one receipt may cover (`message_id` plus `message_ids`). */
export const MAX_RECEIPT_IDS = 256;
/** A machine-readable failure code in `task_fail`. */
export const FAIL_CODE_RE = /^[a-z0-9_]{1,64}$/;

/** Base64url of exactly 32 bytes, canonical (the last character carries two zero bits). */
const B64U_32 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
/** `type/subtype` (RFC 6838 names) with optional parameters in printable ASCII. */
const MEDIA_TYPE_RE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:;[ -~]*)?$/;

/**
 * One file an envelope carries (docs/protocol.md §15): the blob that holds its sealed chunks and
 * everything needed to open and check it. Only inside the encrypted payload.
 */
export const FileRefSchema = z.strictObject({
  blob_id: BlobIdSchema,
  name: z.string().superRefine((name, ctx) => {
    const problem = fileNameProblem(name);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  }),
  size: z.number().int().min(0).max(MAX_BLOB_SIZE),
  media_type: z.string().max(200).regex(MEDIA_TYPE_RE, "a media type like text/plain"),
  sha256: z.string().regex(B64U_32, "base64url of the 32-byte SHA-256 of the plaintext"),
  key: z.string().regex(B64U_32, "base64url of the blob's 32-byte key"),
});
export type FileRef = z.infer<typeof FileRefSchema>;

/** 1 to MAX_FILES files with distinct blob ids; their ids are the header's `blobs`, in order. */
const FilesSchema = z.array(FileRefSchema).min(1).max(MAX_FILES).refine(
  (files) => new Set(files.map((f) => f.blob_id)).size === files.length,
  "files must have distinct blob ids",
);

export const PAYLOAD_SCHEMAS = {
  connection_request: z.strictObject({
    note: text(2000).optional(),
    invite: wellFormed(1, 128).optional(),
    permissions: PermissionsPatchSchema.optional(),
  }),
  connection_accept: z.strictObject({
    request_id: MessageIdSchema,
    permissions: PermissionsPatchSchema.optional(),
  }),
  connection_decline: z.strictObject({
    request_id: MessageIdSchema,
    reason: text(2000).optional(),
  }),
  message: z.strictObject({
    text: text(MAX_TEXT).optional(),
    data: JsonValueSchema.optional(),
    files: FilesSchema.optional(),
  }).refine(
    (m) => m.text !== undefined || m.data !== undefined || m.files !== undefined,
    "message needs text, data or files",
  ),
  task_request: z.strictObject({
    title: wellFormed(1, 200),
    instructions: text(MAX_TEXT),
    inputs: JsonObjectSchema.optional(),
    deadline: TimestampSchema.optional(),
    max_revisions: z.number().int().min(0).max(100).optional(),
    files: FilesSchema.optional(),
  }),
  task_accept: z.strictObject({ note: text(2000).optional() }),
  task_decline: z.strictObject({ reason: text(2000).optional() }),
  artifact_submit: z.strictObject({
    version: z.number().int().min(1).max(10_000),
    content: text(MAX_TEXT),
    content_type: wellFormed(1, 100).optional(),
    name: wellFormed(1, 200).optional(),
    note: text(2000).optional(),
    files: FilesSchema.optional(),
  }),
  revision_request: z.strictObject({
    artifact_version: z.number().int().min(1),
    feedback: text(MAX_TEXT),
  }),
  task_complete: z.strictObject({
    artifact_version: z.number().int().min(1).optional(),
    note: text(2000).optional(),
  }),
  task_cancel: z.strictObject({ reason: text(2000).optional() }),
  receipt: z.strictObject({
    message_id: MessageIdSchema,
    // Further envelopes in the same state (batched `delivered` receipts). `message_id` stays
    // required so receipts of the first protocol release remain valid and a reader that
    // knows only `message_id` still finds one id.
    message_ids: z.array(MessageIdSchema).min(1).max(MAX_RECEIPT_IDS - 1).optional(),
    state: z.enum(RECEIPT_STATES),
    reason: text(2000).optional(),
  }).refine(
    (r) =>
      !r.message_ids || new Set([r.message_id, ...r.message_ids]).size === r.message_ids.length + 1,
    { path: ["message_ids"], message: "receipt ids must be distinct" },
  ),
  task_progress: z.strictObject({
    text: wellFormed(1, 8000),
    queue_position: z.number().int().min(1).optional(),
  }),
  task_fail: z.strictObject({
    reason: wellFormed(1, 4000),
    code: z.string().regex(FAIL_CODE_RE, "lowercase a-z, 0-9 and _, 1-64 chars").optional(),
  }),
} as const satisfies Record<MessageType, z.ZodType>;

/** The plaintext payload type of message type `T`. */
export type PayloadOf<T extends MessageType> = z.infer<typeof PAYLOAD_SCHEMAS[T]>;

/**
 * The blob ids of the files a payload carries, in order (empty when none): what the header's
 * `blobs` must list exactly, checked at sealing and opening (crypto.ts).
 */
export function payloadBlobIds(payload: unknown): string[] {
  const files = (payload as { files?: unknown } | null)?.files;
  return Array.isArray(files) ? files.map((f) => (f as FileRef).blob_id) : [];
}

/** Validates the plaintext of a message of `type`; returns zod's result. */
export function parsePayload(type: MessageType, value: unknown) {
  return PAYLOAD_SCHEMAS[type].safeParse(value);
}
