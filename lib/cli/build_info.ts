/**
 * What this build is. The release workflow (.github/workflows/release.yml) overwrites this file
 * before `deno compile`, so a released binary knows its commit and build date; a checkout says
 * "dev".
 */
export const BUILD_INFO: { commit: string; date: string } = { commit: "dev", date: "" };
