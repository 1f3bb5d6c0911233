/** @hpke/core, the reference HPKE for tests, test-only (see tests/deps/playwright.ts). */
export { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "npm:@hpke/core@1.9.0";
