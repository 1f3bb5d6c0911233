/**
 * `GET /v1/ws`: the WebSocket upgrade. Authentication is the first frame (`hello`), never the
 * URL; what happens to the socket afterwards is the intake's (lib/relay/intake.ts).
 */
import { Hono } from "hono";
import { fail } from "../../protocol/mod.ts";
import type { Relay } from "../relay.ts";
import type { RelayEnv } from "./auth.ts";

/** The WebSocket route, mounted at `/v1/ws`. */
export function wsRoutes(relay: Relay): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  app.get("/", (c) => {
    if ((c.req.header("upgrade") ?? "").toLowerCase() !== "websocket") {
      throw fail("bad_request", "this endpoint speaks WebSocket");
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    relay.attach(socket);
    return response;
  });
  return app;
}
