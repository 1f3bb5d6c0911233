import { z } from "zod";
import { MAX_FILES } from "./blob.ts";
import { HANDLE_RE } from "./handles.ts";
import { idPattern } from "./ids.ts";

/**
 * The message types of protocol v1 (design §6, §11). `task_progress` and `task_fail` came later:
 * a daemon that predates them refuses them at the schema (`invalid_envelope`), never crashes.
 */
export const MESSAGE_TYPES = [
  "connection_request",
  "connection_accept",
  "connection_decline",
  "message",
  "task_request",
  "task_accept",
  "task_decline",
  "artifact_submit",
  "revision_request",
  "task_complete",
  "task_cancel",
  "receipt",
  "task_progress",
  "task_fail",
  "task_claim",
  "task_assign",
] as const;
export type MessageType = typeof MESSAGE_TYPES[number];

/** Types that act on a task and therefore need `task_id` in the header. */
export const TASK_TYPES = [
  "task_request",
  "task_accept",
  "task_decline",
  "artifact_submit",
  "revision_request",
  "task_complete",
  "task_cancel",
  "task_progress",
  "task_fail",
  "task_claim",
  "task_assign",
] as const satisfies readonly MessageType[];
export type TaskMessageType = typeof TASK_TYPES[number];

/**
 * Task types that may name several recipients: a `task_request` to several candidates is an
 * offer (design §13), and its `task_assign` goes to every candidate, the assigned worker first
 * (so does the `task_cancel` of an offer nobody holds).
 */
export const OFFER_TYPES: readonly TaskMessageType[] = [
  "task_request",
  "task_assign",
  "task_cancel",
];

/** True for types that act on a task. */
export function isTaskType(type: string): type is TaskMessageType {
  return (TASK_TYPES as readonly string[]).includes(type);
}

/** The only payload algorithm of protocol v1. */
export const PAYLOAD_ALG = "HPKE-X25519-SHA256-A256GCM";
/** Maximum recipients of one envelope. */
export const MAX_RECIPIENTS = 32;

const b64u = (bytes: number) =>
  z.string().regex(/^[A-Za-z0-9_-]*$/, "base64url").length(Math.ceil((bytes * 4) / 3));

export const HandleSchema = z.string().regex(HANDLE_RE, "a handle like @owner/name");
export const MessageIdSchema = z.string().regex(idPattern("msg"), "an id like msg_<ULID>");
export const TaskIdSchema = z.string().regex(idPattern("task"), "an id like task_<ULID>");
export const ConversationIdSchema = z.string().regex(idPattern("conv"), "an id like conv_<ULID>");
export const DeviceIdSchema = z.string().regex(idPattern("dev"), "an id like dev_<ULID>");
export const BlobIdSchema = z.string().regex(idPattern("blob"), "an id like blob_<ULID>");

/** The types whose payload may carry `files`, and so whose header may list `blobs`. */
export const FILE_TYPES = [
  "message",
  "task_request",
  "artifact_submit",
] as const satisfies readonly MessageType[];

/** 1 to {@link MAX_FILES} distinct blob ids (the header's `blobs`, the payload's `files`). */
export const BlobIdsSchema = z.array(BlobIdSchema).min(1).max(MAX_FILES).refine(
  (ids) => new Set(ids).size === ids.length,
  "blob ids must be distinct",
);
/** RFC 3339 UTC timestamp with milliseconds, as `Date.prototype.toISOString` writes it. */
export const TimestampSchema = z.string().regex(
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  "a UTC timestamp like 2026-11-21T20:00:00.000Z",
).refine(isRealTimestamp, "a real date");

/**
 * True when `s` names an instant exactly as written. `Date.parse` alone rolls impossible dates
 * over (2026-02-30 → March 2, 24:00 → next day), so the text must survive a round trip.
 */
function isRealTimestamp(s: string): boolean {
  const ms = Date.parse(s);
  return !Number.isNaN(ms) && new Date(ms).toISOString() === s;
}

/** One recipient's wrapped content key. */
export const KeyEntrySchema = z.strictObject({
  to: HandleSchema,
  enc: b64u(32),
  wrapped: b64u(48),
});

export const PayloadSchema = z.strictObject({
  alg: z.literal(PAYLOAD_ALG),
  content_type: z.literal("application/json"),
  nonce: b64u(12),
  ciphertext: z.string().regex(/^[A-Za-z0-9_-]+$/, "base64url"),
  keys: z.array(KeyEntrySchema).min(1).max(MAX_RECIPIENTS),
});

/** Header fields shared by the envelope and the AAD. */
const headerShape = {
  v: z.literal(1),
  id: MessageIdSchema,
  type: z.enum(MESSAGE_TYPES),
  from: HandleSchema,
  to: z.array(HandleSchema).min(1).max(MAX_RECIPIENTS),
  conversation_id: ConversationIdSchema.optional(),
  task_id: TaskIdSchema.optional(),
  reply_to: MessageIdSchema.optional(),
  // Added with files (issue 16): absent on every envelope without files, so those stay
  // byte-identical; when present it is signed like every header field and bound into the AAD.
  blobs: BlobIdsSchema.optional(),
  created_at: TimestampSchema,
};

function checkHeader(
  h: {
    type: string;
    from: string;
    to: string[];
    task_id?: string | undefined;
    blobs?: string[] | undefined;
  },
  ctx: z.RefinementCtx,
) {
  if (new Set(h.to).size !== h.to.length) {
    ctx.addIssue({ code: "custom", path: ["to"], message: "recipients must be distinct" });
  }
  if (h.to.includes(h.from)) {
    ctx.addIssue({ code: "custom", path: ["to"], message: "an agent cannot send to itself" });
  }
  if (isTaskType(h.type) && h.task_id === undefined) {
    ctx.addIssue({ code: "custom", path: ["task_id"], message: `${h.type} needs task_id` });
  }
  if (isTaskType(h.type) && h.to.length !== 1 && !(OFFER_TYPES as string[]).includes(h.type)) {
    ctx.addIssue({ code: "custom", path: ["to"], message: "task messages have one recipient" });
  }
  if (h.blobs !== undefined && !(FILE_TYPES as readonly string[]).includes(h.type)) {
    ctx.addIssue({
      code: "custom",
      path: ["blobs"],
      message: `only ${FILE_TYPES.join(", ")} carry files`,
    });
  }
}

/** The envelope of design §5. Unknown fields are rejected. */
export const EnvelopeSchema = z.strictObject({
  ...headerShape,
  device_id: DeviceIdSchema,
  payload: PayloadSchema,
  sig: b64u(64),
}).superRefine((env, ctx) => {
  checkHeader(env, ctx);
  const keyTo = env.payload.keys.map((k) => k.to);
  if (keyTo.length !== env.to.length || keyTo.some((t, i) => t !== env.to[i])) {
    ctx.addIssue({
      code: "custom",
      path: ["payload", "keys"],
      message: "payload.keys must list the recipients of `to`, in the same order",
    });
  }
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** What the sender chooses before sealing: the header without crypto fields. */
export const HeaderSchema = z.strictObject({ ...headerShape, device_id: DeviceIdSchema })
  .superRefine(checkHeader);
export type EnvelopeHeader = z.infer<typeof HeaderSchema>;

/** A short, readable summary of zod issues for error messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.slice(0, 5).map((i) => {
    const path = i.path.length ? i.path.join(".") : "(root)";
    return `${path}: ${i.message}`;
  }).join("; ");
}
