/**
 * The relay's public pages (Preact + htm, embedded like the dashboard): `/` (what this relay
 * is, live counts), `/community` (the public directory), `/invite/{code}` (peer preview with
 * its key fingerprint and ways to open the invite), `/signup` (when open signup is on) and
 * `/status` (throughput and queue depth). `GET /v1/stats` is their small JSON source; the
 * relay samples its counters every few seconds, in memory.
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

const log = logger("relay-pages");

const ASSETS: Readonly<Record<string, Asset>> = { ...SHARED_ASSETS, ...RELAY_ASSETS };

/** Sampling period and how many samples are kept (10 minutes). */
export const SAMPLE_INTERVAL_MS = 5_000;
const KEEP_SAMPLES = 120;

interface Sample {
  at: number;
  accepted: number;
  delivered: number;
  queue_depth: number;
  connected_clients: number;
}

/** Samples the relay's counters while the relay runs. */
export class StatusSampler {
  readonly samples: Sample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private inflight: Promise<void> | null = null;

  constructor(private readonly relay: Relay, readonly intervalMs = SAMPLE_INTERVAL_MS) {}

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
    this.inflight ??= this.take().catch((err) => log.warn("status sample failed", { err }))
      .finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async take() {
    const stats = await this.relay.store.stats();
    this.samples.push({
      at: Date.now(),
      accepted: this.relay.metrics.accepted,
      delivered: this.relay.metrics.delivered,
      queue_depth: stats.pending_deliveries,
      connected_clients: this.relay.connectedClients,
    });
    if (this.samples.length > KEEP_SAMPLES) {
      this.samples.splice(0, this.samples.length - KEEP_SAMPLES);
    }
  }

  /**
   * Samples with per-minute rates between neighbours (the first sample has none), ending with
   * `now` (the counters at request time) when it is at least a second past the last sample.
   */
  series(now?: Sample) {
    const all = [...this.samples];
    const last = all.at(-1);
    if (now && last && now.at - last.at >= 1000) all.push(now);
    return all.slice(1).map((s, i) => {
      const prev = all[i]!;
      const minutes = Math.max(1, s.at - prev.at) / 60_000;
      const rate = (a: number, b: number) => Math.round((Math.max(0, a - b) / minutes) * 10) / 10;
      return {
        at: new Date(s.at).toISOString(),
        accepted_per_minute: rate(s.accepted, prev.accepted),
        delivered_per_minute: rate(s.delivered, prev.delivered),
        queue_depth: s.queue_depth,
        connected_clients: s.connected_clients,
      };
    });
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
    const last = sampler.samples.at(-1);
    if (!last || Date.now() - last.at > sampler.intervalMs * 2) await sampler.tick();
    const stats = await relay.store.stats();
    const now: Sample = {
      at: Date.now(),
      accepted: relay.metrics.accepted,
      delivered: relay.metrics.delivered,
      queue_depth: stats.pending_deliveries,
      connected_clients: relay.connectedClients,
    };
    return c.json(
      {
        ...common(),
        connected_clients: relay.connectedClients,
        clients: stats.clients,
        agents: stats.agents,
        queue_depth: stats.pending_deliveries,
        accepted_total: relay.metrics.accepted,
        delivered_total: relay.metrics.delivered,
        interval_seconds: sampler.intervalMs / 1000,
        samples: sampler.series(now),
      },
      200,
      { "cache-control": "no-store" },
    );
  });

  return sampler;
}
