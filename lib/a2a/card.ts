/**
 * The A2A agent card of one connected remote agent, built from what the loopback API knows of
 * it: its handle, and its profile (display name, description, capabilities) where the
 * connection view carries one. The card names the local endpoint, JSON-RPC in A2A 1.0 (plus
 * the 0.3 method names on the same URL), and bearer authentication with the TaskFerry token.
 */
import { A2A_PROTOCOL_VERSION, type AgentCard, type AgentSkill } from "@a2a-js/sdk";
import { VERSION } from "../protocol/mod.ts";

/** What the card says about the peer. */
export interface PeerProfile {
  display_name?: string;
  description?: string;
  capabilities?: string[];
}

/** The name of the bearer security scheme on every card. */
export const BEARER_SCHEME = "taskferry_bearer";

function skill(id: string, name: string, description: string, tags: string[]): AgentSkill {
  return {
    id,
    name,
    description,
    tags,
    examples: [],
    inputModes: [],
    outputModes: [],
    securityRequirements: [],
  };
}

/**
 * The card for `peer`, served at `url` (the JSON-RPC endpoint on this daemon).
 *
 * @example
 * ```ts
 * const card = agentCard("@bob/writer", {}, "http://127.0.0.1:4318/a2a/bob/writer");
 * card.supportedInterfaces[0]!.protocolVersion; // "1.0"
 * ```
 */
export function agentCard(peer: string, profile: PeerProfile, url: string): AgentCard {
  const caps = (profile.capabilities ?? []).filter((c) => typeof c === "string" && c !== "");
  const skills = caps.length > 0
    ? caps.map((c) => skill(c, c, `${peer} lists "${c}" among its capabilities.`, [c]))
    : [
      skill(
        "task",
        "Delegate a task",
        `Send ${peer} a task; its answer comes back as an artifact for your review.`,
        ["task"],
      ),
    ];
  const iface = (protocolVersion: string) => ({
    url,
    protocolBinding: "JSONRPC",
    tenant: "",
    protocolVersion,
  });
  return {
    name: profile.display_name || peer,
    description: profile.description ||
      `${peer}, a remote agent reached through TaskFerry: end-to-end encrypted, over a ` +
        `connection its owner approved. Tasks you send become TaskFerry tasks; each artifact ` +
        `comes back for review (input-required) until you accept it.`,
    supportedInterfaces: [iface(A2A_PROTOCOL_VERSION), iface("0.3")],
    provider: { organization: "TaskFerry", url: new URL(url).origin },
    version: VERSION,
    capabilities: {
      streaming: true,
      pushNotifications: false,
      extensions: [],
      extendedAgentCard: false,
    },
    securitySchemes: {
      [BEARER_SCHEME]: {
        scheme: {
          $case: "httpAuthSecurityScheme",
          value: {
            description: "The TaskFerry local API token (an agent token once issued).",
            scheme: "Bearer",
            bearerFormat: "",
          },
        },
      },
    },
    securityRequirements: [{ schemes: { [BEARER_SCHEME]: { list: [] } } }],
    defaultInputModes: ["text/plain", "application/json"],
    defaultOutputModes: ["text/markdown", "text/plain"],
    skills,
    signatures: [],
  };
}
