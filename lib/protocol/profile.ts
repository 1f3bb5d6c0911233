/** An agent's public profile: what relay and daemon both accept when an agent registers. */
import { z } from "zod";
import { wellFormed } from "./wellformed.ts";

/** The profile fields, each optional; strings are well-formed Unicode. */
export const AgentProfileSchema = z.strictObject({
  display_name: wellFormed(0, 100).optional(),
  description: wellFormed(0, 2000).optional(),
  capabilities: z.array(wellFormed(0, 64)).max(50).optional(),
});
export type AgentProfile = z.infer<typeof AgentProfileSchema>;
