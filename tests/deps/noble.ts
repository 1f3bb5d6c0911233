/**
 * @noble primitives for the second, independent crypto implementation in tests/protocol/,
 * test-only (see tests/deps/playwright.ts for why they live here).
 */
export { ed25519, ED25519_TORSION_SUBGROUP, x25519 } from "npm:@noble/curves@2.4.0/ed25519.js";
export { gcm } from "npm:@noble/ciphers@2.4.0/aes.js";
export { sha256 } from "npm:@noble/hashes@2.4.0/sha2.js";
export { expand, extract } from "npm:@noble/hashes@2.4.0/hkdf.js";
