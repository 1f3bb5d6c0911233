import { assertEquals, assertThrows } from "../assert.ts";
import {
  canonicalClientId,
  formatHandle,
  handleOwner,
  isHandle,
  isOwner,
  parseHandle,
} from "../../lib/protocol/handles.ts";

const a32 = "a".repeat(32);
const a33 = "a".repeat(33);

const VALID = [
  "@alice/writer",
  "@a/b",
  "@0/9",
  "@bob-2/code-reviewer",
  "@a-/b-", // '-' may end a part; it only may not start one
  "@a--b/c--d",
  `@${a32}/${a32}`,
  "@123/456",
  "@team_name/agent-1", // the Go TaskFerry's handles have underscores
  "@a_/b_",
  "@alice/wri_ter",
  "@clients/x", // only the exact prefix client_ is reserved
  "@alice/client_x", // the reservation is for owners, not names
];

const INVALID = [
  "",
  "@",
  "@/",
  "@alice/",
  "@/writer",
  "alice/writer", // missing @
  "alice",
  "@alice", // missing /name
  "@alice/writer/extra", // extra slash
  "@alice//writer",
  "@alice/writer/",
  "/@alice/writer",
  "@@alice/writer",
  "@Alice/writer", // uppercase
  "@alice/Writer",
  "@ALICE/WRITER",
  "@-alice/writer", // leading '-'
  "@alice/-writer",
  `@${a33}/b`, // 33 characters
  `@a/${a33}`,
  "@al ice/writer",
  "@_alice/writer", // leading '_'
  "@alice/_writer",
  "@client_alice/writer", // Go's client_ prefix is reserved: it spells the client id alice
  "@alice/wri.ter",
  "@alicé/writer",
  " @alice/writer",
  "@alice/writer ",
  "@alice/writer\n",
  "\n@alice/writer",
];

Deno.test("valid handles parse into owner and name", () => {
  for (const h of VALID) {
    assertEquals(isHandle(h), true, h);
    const parsed = parseHandle(h);
    const [owner, name] = h.slice(1).split("/");
    assertEquals(parsed, { owner: owner!, name: name! }, h);
    assertEquals(handleOwner(h), owner);
    assertEquals(formatHandle(owner!, name!), h);
  }
});

Deno.test("invalid handles are refused everywhere", () => {
  for (const h of INVALID) {
    assertEquals(isHandle(h), false, JSON.stringify(h));
    assertEquals(parseHandle(h), null, JSON.stringify(h));
    assertThrows(() => handleOwner(h), TypeError);
  }
  for (const value of [null, undefined, 7, {}, ["@a/b"]]) assertEquals(isHandle(value), false);
});

Deno.test("part length is 1..32", () => {
  assertEquals(isHandle(`@${a32}/x`), true);
  assertEquals(isHandle(`@${a33}/x`), false);
  assertEquals(isHandle(`@x/${a32}`), true);
  assertEquals(isHandle(`@x/${a33}`), false);
});

Deno.test("formatHandle validates its parts", () => {
  assertEquals(formatHandle("alice", "writer"), "@alice/writer");
  for (const [owner, name] of [["Alice", "w"], ["a", ""], ["", "w"], ["a/b", "c"], ["-a", "w"]]) {
    assertThrows(() => formatHandle(owner!, name!), TypeError);
  }
  assertThrows(() => formatHandle(a33, "w"), TypeError);
});

Deno.test("isOwner accepts client ids and refuses the rest", () => {
  for (const ok of ["alice", "a", "0", "bob-2", "team_name", a32]) {
    assertEquals(isOwner(ok), true, ok);
  }
  for (
    const bad of ["", "Alice", "-a", "_a", a33, "@alice", "a/b", "a b", "a\n", "client_a", null, 1]
  ) {
    assertEquals(isOwner(bad), false, JSON.stringify(bad));
  }
});

Deno.test("canonicalClientId maps the Go spelling client_<owner> to <owner> and nothing else", () => {
  assertEquals(canonicalClientId("client_alice"), "alice");
  assertEquals(canonicalClientId("client_team_name"), "team_name");
  assertEquals(canonicalClientId("alice"), "alice");
  assertEquals(canonicalClientId("team_name"), "team_name");
  // client_client_x would mean the reserved owner client_x: refused, so no id has two meanings.
  for (const bad of ["client_", "client_client_x", "client_Alice", "Client_alice", "", "a/b"]) {
    assertEquals(canonicalClientId(bad), null, bad);
  }
  // What it returns always names exactly the namespace of its handles.
  assertEquals(handleOwner(formatHandle(canonicalClientId("client_alice")!, "agent")), "alice");
});
