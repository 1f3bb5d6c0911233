/**
 * Dashboard sessions (design §8): the owner logs in with the local API token or a one-time
 * link and gets a random session id in an HttpOnly, SameSite=Strict cookie. Sessions and
 * one-time codes live in memory only (a restart logs everyone out) and expire. Every session
 * carries its own CSRF token, which cookie-authenticated state changes must send back.
 */
import { encodeBase64Url, randomBytes } from "../protocol/mod.ts";
import { timingSafeEqual } from "../protocol/mod.ts";

/** A session is dropped after this long without a request. */
export const SESSION_IDLE_MS = 12 * 3_600_000;
/** …and after this long in any case (also the cookie's Max-Age). */
export const SESSION_MAX_MS = 7 * 86_400_000;
/** How long a one-time login link stays valid by default. */
export const LOGIN_CODE_TTL_MS = 10 * 60_000;

const MAX_SESSIONS = 64;
const MAX_CODES = 64;

/** One logged-in browser. */
export interface DashboardSession {
  id: string;
  csrf: string;
  createdAt: number;
  lastSeen: number;
}

function randomToken(): string {
  return encodeBase64Url(randomBytes(32));
}

/** The in-memory session table of one daemon. */
export class SessionTable {
  private readonly sessions = new Map<string, DashboardSession>();
  private readonly codes = new Map<string, number>();

  constructor(
    /** Cookie name: distinct per daemon, since cookies do not tell ports apart. */
    readonly cookieName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a session. */
  create(): DashboardSession {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) {
      // Drop the least recently used one rather than grow without bound.
      const oldest = [...this.sessions.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0]!;
      this.sessions.delete(oldest.id);
    }
    const t = this.now();
    const session = { id: randomToken(), csrf: randomToken(), createdAt: t, lastSeen: t };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session a `Cookie` header names, or null (touches it). */
  fromCookie(header: string | undefined): DashboardSession | null {
    const id = readCookie(header, this.cookieName);
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    const t = this.now();
    if (t - s.lastSeen > SESSION_IDLE_MS || t - s.createdAt > SESSION_MAX_MS) {
      this.sessions.delete(id);
      return null;
    }
    s.lastSeen = t;
    return s;
  }

  /** True when `sent` is the session's CSRF token. */
  checkCsrf(session: DashboardSession, sent: string | undefined): boolean {
    return sent !== undefined && timingSafeEqual(sent, session.csrf);
  }

  /** Ends a session. */
  destroy(id: string) {
    this.sessions.delete(id);
  }

  /** A new one-time login code. */
  issueCode(ttlMs = LOGIN_CODE_TTL_MS): string {
    this.sweep();
    if (this.codes.size >= MAX_CODES) this.codes.delete(this.codes.keys().next().value!);
    const code = randomToken();
    this.codes.set(code, this.now() + ttlMs);
    return code;
  }

  /** Consumes a one-time code: true once, while it is valid. */
  redeem(code: string): boolean {
    const expires = this.codes.get(code);
    if (expires === undefined) return false;
    this.codes.delete(code);
    return expires >= this.now();
  }

  /** Number of live sessions (tests). */
  get size(): number {
    this.sweep();
    return this.sessions.size;
  }

  private sweep() {
    const t = this.now();
    for (const [id, s] of this.sessions) {
      if (t - s.lastSeen > SESSION_IDLE_MS || t - s.createdAt > SESSION_MAX_MS) {
        this.sessions.delete(id);
      }
    }
    for (const [code, expires] of this.codes) if (expires < t) this.codes.delete(code);
  }
}

/** The value of cookie `name` in a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim() || null;
  }
  return null;
}

/** The session cookie name of the daemon with `deviceId` (cookies do not tell ports apart). */
export function sessionCookieName(deviceId: string): string {
  return `taskferry_session_${deviceId.slice(-12).toLowerCase().replace(/[^a-z0-9]/g, "")}`;
}
