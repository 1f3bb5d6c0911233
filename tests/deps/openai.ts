/** The official OpenAI client, test-only (see tests/deps/playwright.ts for why it lives here). */
export { default as OpenAI } from "npm:openai@7.57.0";
