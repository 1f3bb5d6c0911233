/**
 * The relay's public pages (Preact + htm, embedded like the dashboard): `/` (what this relay
 * is, live counts), `/community` (the public directory), `/invite/{code}` (peer preview with
 * its key fingerprint and ways to open the invite), `/signup` (when open signup is on) and
 * `/status` (throughput and queue depth). `GET /v1/stats?range=15m|1h|24h` is their small JSON
 * source; the relay samples its counters every few seconds into a bounded in-memory history
 * (status_history.ts: 15 minutes at 5 s, 24 hours at 1 minute).
 */
import type { Env, Hono } from "hono";
import { decodeBase64Url, fail, fingerprint, TaskferryError, VERSION } from "../protocol/mod.ts";
import { logger } from "../log.ts";
import {
  type Asset,
  assetHeaders,
  findAsset,
  PAGE_HEADERS,
  pageHtml,
  SHARED_ASSETS,
} from "../../web/shell.ts";
import { RELAY_ASSETS } from "../../web/relay/mod.ts";
import type { Relay } from "./relay.ts";
import {
  type Sample,
  SAMPLE_INTERVAL_MS,
  STATUS_RANGES,
  StatusHistory,
  type StatusRange,
} from "./status_history.ts";

const log = logger("relay-pages");

const ASSETS: Readonly<Record<string, Asset>> = { ...SHARED_ASSETS, ...RELAY_ASSETS };

/** Samples the relay's counters into a bounded {@link StatusHistory} while the relay runs. */
export class StatusSampler {
  readonly history = new StatusHistory();
  private timer: ReturnType<typeof setInterval> | undefined;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly relay: Relay,
    readonly intervalMs = SAMPLE_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  start() {
    this.stop();
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  async stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inflight;
  }

  /** Takes a sample unless one is running. */
  tick(): Promise<void> {
    this.inflight ??= this.read().then((s) => this.history.add(s))
      .catch((err) => log.warn("status sample failed", { err }))
      .finally(() => (this.inflight = null));
    return this.inflight;
  }

  /** The counters now. */
  async read(): Promise<Sample> {
    const stats = await this.relay.store.stats();
    return {
      at: this.now(),
      accepted: this.relay.metrics.accepted,
      delivered: this.relay.metrics.delivered,
      queue_depth: stats.pending_deliveries,
      connected_clients: this.relay.connectedClients,
    };
  }
}

/** Mounts the pages on the relay's app; the sampler follows the relay's start and stop. */
export function mountRelayPages<E extends Env>(app: Hono<E>, relay: Relay): StatusSampler {
  const sampler = new StatusSampler(relay);
  relay.attachCompanion(sampler);

  const common = () => ({
    public_url: relay.options.publicUrl,
    open_signup: relay.options.openSignup,
    version: VERSION,
  });
  const titles: Record<string, string> = {
    home: "TaskFerry relay",
    community: "Community — TaskFerry relay",
    status: "Status — TaskFerry relay",
    signup: "Sign up — TaskFerry relay",
    invite: "Invite — TaskFerry relay",
  };
  const page = (name: string, extra: Record<string, unknown> = {}) =>
    pageHtml({
      title: titles[name]!,
      entry: "relay/pages.js",
      page: name,
      data: { ...common(), ...extra },
    });

  app.get("/", (c) => c.body(page("home"), 200, PAGE_HEADERS));
  app.get("/community", (c) => c.body(page("community"), 200, PAGE_HEADERS));
  app.get("/status", (c) => c.body(page("status"), 200, PAGE_HEADERS));
  app.get(
    "/signup",
    (c) => c.body(page("signup"), relay.options.openSignup ? 200 : 404, PAGE_HEADERS),
  );

  // Looking an invite up here does not redeem it: only an authenticated daemon's look-up does.
  app.get("/invite/:code", async (c) => {
    const code = c.req.param("code");
    try {
      const invite = /^[A-Za-z0-9_-]{8,64}$/.test(code) ? await relay.store.getInvite(code) : null;
      if (!invite) throw fail("invite_not_found");
      const usedUp = invite.max_uses !== null && invite.uses >= invite.max_uses;
      if (invite.revoked || invite.expires_at < Date.now() || usedUp) throw fail("invite_expired");
      const agent = await relay.store.getAgent(invite.agent);
      if (!agent) throw fail("invite_not_found");
      const fp = await fingerprint({
        signing: decodeBase64Url(agent.signing_public_key),
        encryption: decodeBase64Url(agent.encryption_public_key),
      });
      const host = new URL(relay.options.publicUrl).host;
      // The link carries no fingerprint from here: only the inviter's own `#fp=` (the page's
      // URL fragment, read in the browser) may go into it. The relay's view is labelled as such.
      return c.body(
        page("invite", {
          invite: {
            code,
            expires_at: new Date(invite.expires_at).toISOString(),
            agent: { handle: agent.handle, profile: agent.profile, relay_fingerprint: fp },
            link: `taskferry://${host}/invite/${code}`,
          },
        }),
        200,
        PAGE_HEADERS,
      );
    } catch (err) {
      if (!(err instanceof TaskferryError)) throw err;
      return c.body(
        page("invite", { error: { code: err.code, message: err.message } }),
        err.status as 404,
        PAGE_HEADERS,
      );
    }
  });

  app.get("/assets/*", (c) => {
    const asset = findAsset(ASSETS, c.req.path.slice("/assets/".length));
    if (!asset) throw fail("not_found", `no asset ${c.req.path}`);
    return c.body(asset.body, 200, assetHeaders(asset));
  });

  app.get("/v1/stats", async (c) => {
    const range = c.req.query("range") ?? "15m";
    if (!Object.hasOwn(STATUS_RANGES, range)) {
      throw fail(
        "validation_failed",
        `range must be one of ${Object.keys(STATUS_RANGES).join(", ")}`,
      );
    }
    const last = sampler.history.last();
    if (!last || Date.now() - last.at > sampler.intervalMs * 2) await sampler.tick();
    const stats = await relay.store.stats();
    const now = await sampler.read();
    const fine = STATUS_RANGES[range as StatusRange].tier === "fine";
    return c.json(
      {
        ...common(),
        connected_clients: relay.connectedClients,
        clients: stats.clients,
        agents: stats.agents,
        queue_depth: stats.pending_deliveries,
        accepted_total: relay.metrics.accepted,
        delivered_total: relay.metrics.delivered,
        range,
        ranges: Object.keys(STATUS_RANGES),
        interval_seconds: fine ? sampler.intervalMs / 1000 : 60,
        samples: sampler.history.series(range as StatusRange, now),
      },
      200,
      { "cache-control": "no-store" },
    );
  });

  return sampler;
}
