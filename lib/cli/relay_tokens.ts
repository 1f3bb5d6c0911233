/**
 * `relay add-client` and `relay rotate-token`: issue a client token and print it once, with a
 * setup link whose base URL the daemon can reach (relay_public_url.ts decides it).
 */
import { generateToken, hashToken, type RelayStore, setupUrl } from "../relay/mod.ts";
import { setupLinkBase } from "./relay_public_url.ts";

/** Where the setup link points: see {@link setupLinkBase}. */
export interface LinkOptions {
  /** `--public-url` as given (flag, env or config), if it was. */
  given: string | undefined;
  /** The URL derived from the bind address. */
  derived: string;
  /** `--allow-loopback-link`. */
  allowLoopback: boolean;
}

/**
 * Creates client `name` (or, with `rotate`, gives the active client a new token) and prints its
 * credentials; exit code 1 when the client exists (or, rotating, is not active). The link is
 * checked first, so a refused link changes nothing.
 */
export async function issueToken(
  store: RelayStore,
  name: string,
  rotate: boolean,
  json: boolean,
  link: LinkOptions,
): Promise<number> {
  const publicUrl = await setupLinkBase(store, link.given, link.derived, link.allowLoopback);
  const token = generateToken(name);
  const hash = await hashToken(token);
  if (rotate) {
    if (!(await store.setClientToken(name, hash))) {
      console.error(`taskferry: no active client '${name}'`);
      return 1;
    }
  } else {
    try {
      await store.addClient(name, hash, Date.now());
    } catch (err) {
      console.error(`taskferry: ${(err as Error).message}`);
      return 1;
    }
  }
  printCredentials(name, token, publicUrl, json);
  return 0;
}

function printCredentials(clientId: string, token: string, publicUrl: string, json: boolean) {
  const setup_url = setupUrl(publicUrl, clientId, token);
  if (json) {
    console.log(JSON.stringify({ client_id: clientId, token, setup_url }));
    return;
  }
  console.log(`client_id: ${clientId}
token:     ${token}   (shown once; the relay keeps only a hash)
setup:     ${setup_url}

Configure the daemon on ${clientId}'s machine with either:
  taskferry client --setup '${setup_url}'
  TASKFERRY_RELAY_URL=${publicUrl} TASKFERRY_CLIENT_ID=${clientId} TASKFERRY_RELAY_TOKEN=${token} taskferry client`);
}
