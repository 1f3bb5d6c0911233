/**
 * What `taskferry client` hands its daemon for the dashboard's `/setup` page: the CLI's setup-link
 * rules (setup_link.ts, and the Go link form of go/compat.ts) and where the credentials are saved.
 */
import type { SetupLinks } from "../client/setup_routes.ts";
import { ourSetupLink } from "./go/compat.ts";
import { parseSetupLink, saveSetup } from "./setup_link.ts";

/** The `/setup` page's link rules for the daemon whose home is `home`. */
export function setupLinksFor(home: string): SetupLinks {
  return {
    parse: (link) => parseSetupLink(ourSetupLink(link)),
    save: (credentials) => saveSetup(home, credentials),
  };
}
