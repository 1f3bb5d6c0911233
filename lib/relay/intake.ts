/**
 * WebSocket intake: what the relay does with a freshly upgraded socket before and after
 * `hello`. Frames are refused by length before anything parses them — a few KB before `hello`
 * (nobody is authenticated yet), the envelope limit plus frame overhead after it — and parsed
 * with the bounded parser (depth scanned before `JSON.parse`). Frames are taken in order and
 * pipelined: a frame's credentials are checked and its work started before the next is taken,
 * but the next need not wait for its answer (relay.ts keeps the answers in order). The queue
 * and the pipeline are each bounded in frames and in size.
 */
import {
  type ClientFrame,
  ClientFrameSchema,
  CLOSE_CODES,
  describeIssues,
  type ErrorCode,
  fail,
  parseJsonBounded,
  TaskferryError,
} from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { Relay } from "./relay.ts";
import type { Session } from "./session.ts";

const log = logger("relay");

/** Longest frame accepted before `hello`: a hello is a few hundred characters. */
export const HELLO_MAX_CHARS = 4096;
/** What a `send` frame adds around its envelope, with room to spare. */
export const FRAME_OVERHEAD_CHARS = 1024;
/** Frames nest 5 levels (frame, envelope, payload, keys, key entry); anything deeper is junk. */
export const FRAME_MAX_DEPTH = 8;
/** Frames of one session being worked on at once (verifying, in a group commit, answering). */
export const PIPELINE_FRAMES = 64;
/** Characters of frames being worked on at once (the first frame always goes in). */
export const PIPELINE_CHARS = 1024 * 1024;
/** RFC 6455 "message too big". */
const CLOSE_TOO_BIG = 1009;

/** Attaches `ws` to `relay`: hello first, then frames in order. */
export function attachSocket(relay: Relay, ws: WebSocket) {
  const options = relay.options;
  let session: Session | null = null;
  const queue: string[] = [];
  let queuedChars = 0;
  let draining = false;
  const helloTimer = setTimeout(() => {
    if (!session) refuse("unauthorized", "no hello within the time limit");
  }, options.helloTimeoutMs);

  const refuse = (code: ErrorCode, message: string, close: number = CLOSE_CODES.unauthorized) => {
    try {
      ws.send(JSON.stringify({ type: "error", code, message }));
      ws.close(close, message.slice(0, 100));
    } catch {
      // socket already gone
    }
  };

  /** Refuses a frame by its length: an error frame, then close 1009. */
  const tooBig = (data: string, limit: number) => {
    const message = `a frame of ${data.length} characters; the limit is ${limit}`;
    if (!session) {
      relay.metrics.refuse("body_too_large");
      refuse("body_too_large", message, CLOSE_TOO_BIG);
      return;
    }
    // The envelope's id, when it can be read, lets the daemon settle it instead of resending.
    const id = sendFrameId(data);
    relay.metrics.refuse("envelope_too_large");
    session.send({ type: "error", code: "envelope_too_large", message, ...(id ? { id } : {}) });
    session.close(CLOSE_TOO_BIG, "frame too big");
  };

  /** The session a hello opens, or null after refusing it (and closing the socket). */
  const hello = async (data: string): Promise<Session | null> => {
    try {
      return await relay.openSession(ws, parseHello(data));
    } catch (err) {
      const e = err instanceof TaskferryError ? err : fail("bad_request");
      const keep = ["bad_request", "client_revoked", "payload_too_deep"];
      refuse(keep.includes(e.code) ? e.code : "unauthorized", e.message);
      return null;
    }
  };

  /** Frames started and not yet answered, oldest first, with their sizes. */
  const pipeline: { done: Promise<void>; chars: number }[] = [];
  let pipelineChars = 0;

  const drain = async () => {
    if (draining) return;
    draining = true;
    try {
      // Once the relay is stopping, frames still queued are left: their sockets are closing
      // and the store is about to close; the daemon sends them again on its next session.
      while (queue.length > 0 && !relay.stopped) {
        const next = queue[0]!.length;
        if (
          pipeline.length >= PIPELINE_FRAMES ||
          (pipeline.length > 0 && pipelineChars + next > PIPELINE_CHARS)
        ) {
          await pipeline[0]!.done;
          continue;
        }
        const data = queue.shift()!;
        queuedChars -= data.length;
        if (session) {
          const work = await handleFrame(relay, session, data);
          if (work) {
            const entry = { done: work.done, chars: data.length };
            pipeline.push(entry);
            pipelineChars += entry.chars;
            work.done.catch((err) => log.error("frame handling failed", { err })).finally(() => {
              pipeline.splice(pipeline.indexOf(entry), 1);
              pipelineChars -= entry.chars;
            });
          }
          continue;
        }
        session = await hello(data);
        clearTimeout(helloTimer);
        if (!session) return;
      }
    } finally {
      draining = false;
    }
  };

  ws.onmessage = (event) => {
    if (typeof event.data !== "string") {
      refuse("bad_request", "frames are JSON text");
      return;
    }
    const data = event.data;
    // By length, before any parsing: an unauthenticated peer gets a few KB, a session one
    // envelope's worth. (The runtime has already buffered the frame; nothing more is spent.)
    const limit = session ? options.maxEnvelopeBytes + FRAME_OVERHEAD_CHARS : HELLO_MAX_CHARS;
    if (data.length > limit) {
      tooBig(data, limit);
      return;
    }
    // Bounded in frames and in size: a client may not park more than a few envelopes' worth
    // of unprocessed frames here (memory), however it splits them.
    if (
      queue.length >= options.maxQueuedFrames ||
      (queue.length > 0 && queuedChars + data.length > 4 * options.maxEnvelopeBytes + 65_536)
    ) {
      session?.close(CLOSE_CODES.overloaded, "too many frames in flight; slow down");
      ws.close(CLOSE_CODES.overloaded, "overloaded");
      return;
    }
    queue.push(data);
    queuedChars += data.length;
    drain().catch((err) => log.error("frame handling failed", { err }));
  };
  ws.onclose = () => {
    clearTimeout(helloTimer);
    if (session) relay.closeSession(session);
  };
  ws.onerror = () => {};
}

/**
 * One frame of an authenticated session: checks the session's credentials and starts the
 * frame's work; `done` settles when it is finished (null: nothing was started).
 */
async function handleFrame(
  relay: Relay,
  session: Session,
  data: string,
): Promise<{ done: Promise<void> } | null> {
  if (!(await relay.stillAuthorized(session))) return null;
  let frame: ClientFrame;
  try {
    frame = parseFrame(data);
  } catch (err) {
    return { done: relay.refuseInOrder(session, err as TaskferryError, sendFrameId(data)) };
  }
  switch (frame.type) {
    case "send":
      return { done: relay.send(session, frame.envelope, data.length) };
    case "ack":
      return { done: relay.ack(session, frame.seq) };
    case "ping":
      return { done: relay.answerInOrder(session, () => session.send({ type: "pong" })) };
    case "presence":
      return { done: relay.presence.announce(session, frame) };
    case "hello":
      return { done: relay.refuseInOrder(session, fail("bad_request", "already authenticated")) };
  }
}

/**
 * An `ack` frame as daemons write it (lib/client/relay_link.ts), read without parsing: the
 * commonest frame, and the pattern accepts only what the schema does (an integer ≥ 1, at most
 * 15 digits, so a safe integer). Any other spelling goes through the parser and the schema.
 */
const ACK_FRAME = /^\{"type":"ack","seq":([1-9][0-9]{0,14})\}$/;

/** Parses one frame of an authenticated session; throws `bad_request`, `payload_too_deep`, `invalid_json`. */
export function parseFrame(data: string): ClientFrame {
  const ack = ACK_FRAME.exec(data);
  if (ack) return { type: "ack", seq: Number(ack[1]) };
  const value = parseJsonBounded(data, {
    maxBytes: Number.MAX_SAFE_INTEGER, // the length was checked on arrival
    maxDepth: FRAME_MAX_DEPTH,
  });
  // A `send` frame's envelope is checked on its own (accept.ts); the frame is just its wrapper.
  if (isSendFrame(value)) return value;
  const parsed = ClientFrameSchema.safeParse(value);
  if (!parsed.success) throw fail("bad_request", describeIssues(parsed.error));
  return parsed.data;
}

/** Exactly `{type: "send", envelope}` (what the schema's strict `send` object accepts). */
function isSendFrame(value: unknown): value is Extract<ClientFrame, { type: "send" }> {
  if (typeof value !== "object" || value === null) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const frame = value as Record<string, unknown>;
  if (frame.type !== "send" || !("envelope" in frame)) return false;
  let keys = 0;
  for (const _ in frame) keys++;
  return keys === 2;
}

function parseHello(data: string): Extract<ClientFrame, { type: "hello" }> {
  const frame = parseFrame(data);
  if (frame.type !== "hello") throw fail("unauthorized", "the first frame must be hello");
  return frame;
}

/**
 * The envelope id of a `send` frame refused before parsing, found near its start, so the
 * daemon can settle that envelope instead of resending it on every connection.
 */
function sendFrameId(data: string): string | undefined {
  const head = data.slice(0, 512);
  if (!head.includes('"send"')) return undefined;
  return /"id":"(msg_[0-9A-HJKMNP-TV-Z]{26})"/.exec(head)?.[1];
}
