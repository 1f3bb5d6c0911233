/**
 * WebSocket frames between a daemon and the relay (`/v1/ws`). JSON text frames, one object
 * each, discriminated by `type`. The first client frame must be `hello`.
 */
import { z } from "zod";
import { DeviceIdSchema, HandleSchema, MessageIdSchema, TimestampSchema } from "./schemas.ts";
import { OWNER_RE } from "./handles.ts";
import type { ErrorCode } from "./errors.ts";

/** Most agents one session may announce online. */
export const MAX_PRESENCE_AGENTS = 100;
/** Most peers one session may watch. */
export const MAX_PRESENCE_WATCH = 2000;

/** Client → relay frames. The envelope inside `send` is validated separately (size first). */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("hello"),
    client_id: z.string().regex(OWNER_RE),
    token: z.string().min(1).max(200),
    device_id: DeviceIdSchema,
    resume: z.number().int().min(0).optional(),
  }),
  z.strictObject({ type: z.literal("send"), envelope: z.unknown() }),
  z.strictObject({ type: z.literal("ack"), seq: z.number().int().min(1) }),
  z.strictObject({ type: z.literal("ping") }),
  // Presence (design §13): the session's agents that are online, and the peers whose presence
  // it wants. The relay keeps only what the client owns and what it is connected to.
  z.strictObject({
    type: z.literal("presence"),
    agents: z.array(HandleSchema).max(MAX_PRESENCE_AGENTS),
    watch: z.array(HandleSchema).max(MAX_PRESENCE_WATCH),
  }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** A delivery-state change the relay reports to the sender's daemon. */
export const RelayReceiptSchema = z.strictObject({
  id: MessageIdSchema,
  state: z.enum(["delivered", "failed"]),
  recipients: z.array(z.string()),
  at: TimestampSchema,
  reason: z.string().optional(),
});
export type RelayReceipt = z.infer<typeof RelayReceiptSchema>;

/** Relay → client frames. */
export type RelayFrame =
  | {
    type: "welcome";
    client_id: string;
    device_id: string;
    server_time: string;
    max_envelope_bytes: number;
  }
  | { type: "accepted"; id: string; at: string }
  | { type: "error"; id?: string; code: ErrorCode; message: string }
  | { type: "deliver"; seq: number; envelope: unknown }
  | { type: "receipt"; seq: number; receipt: RelayReceipt }
  | { type: "pong" }
  | PresenceFrame;

/**
 * A connected peer agent came online or went away (`last_seen`: when it was last online, null
 * when unknown). Sent only to clients with a connection to `agent`, never to anyone else.
 */
export interface PresenceFrame {
  type: "presence";
  agent: string;
  online: boolean;
  last_seen: string | null;
}

/** Close codes the relay uses. */
export const CLOSE_CODES = {
  /** hello missing, late or wrong. */
  unauthorized: 4001,
  /** A newer session of the same client took over. */
  replaced: 4002,
  /** Too many frames waiting: the client must slow down. */
  overloaded: 4003,
  /** The relay is shutting down. */
  shutdown: 1001,
} as const;
