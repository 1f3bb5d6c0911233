// Presence (design §13): a connected peer's dot, from `online` / `last_seen` of
// GET /v1/connections (the relay tells connected peers only).
import { html } from "../ui.js";

/** The peer's presence as the relay reports it (design §13): a dot, and words for screen readers. */
export function PresenceDot({ conn }) {
  const label = conn.online
    ? "online"
    : conn.last_seen
    ? `offline, last seen ${new Date(conn.last_seen).toLocaleString()}`
    : "offline";
  return html`
    <span class=${`presence ${conn.online ? "on" : "off"}`} title=${label}
      role="img" aria-label=${`${conn.peer} ${label}`}></span>
  `;
}
