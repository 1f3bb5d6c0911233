/**
 * Where the secret protecting the agents' private keys comes from (issue 19.6): a passphrase
 * file, a prompt on the terminal, or the OS keychain. Each is one small adapter behind this one
 * interface, so the keyring never knows which.
 */

/** A place a secret can be read from and (for keychains) stored in. */
export interface KeySource {
  /** For messages: "passphrase file /path", "terminal prompt", "secret-tool (libsecret)". */
  readonly label: string;
  /** The secret, or null when this source has none (no terminal, nothing stored). */
  get(): Promise<string | null>;
  /** Stores `secret` (keychains). Read-only sources throw {@link KeySourceError}. */
  set(secret: string): Promise<void>;
}

/** A source cannot give or keep the secret; the message says how to fix it. */
export class KeySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeySourceError";
  }
}
