/** The relay pages' browser modules, embedded (text imports) and served under `/assets/`. */
import { type Asset, js } from "../shell.ts";
import invite from "./invite.js" with { type: "text" };
import pages from "./pages.js" with { type: "text" };
import status from "./status.js" with { type: "text" };

/** Relay page modules by path under `/assets/`; the entry is `relay/pages.js`. */
export const RELAY_ASSETS: Readonly<Record<string, Asset>> = {
  "relay/invite.js": js(invite),
  "relay/pages.js": js(pages),
  "relay/status.js": js(status),
};
