/**
 * Well-formed text for every payload (issue 13). A JavaScript string may hold a lone UTF-16
 * surrogate ("\ud800"); such a string has no UTF-8 form, so JCS (the signing and audit-hash
 * input) throws on it and a receiver's strict UTF-8 decoder refuses it. Every string a payload
 * schema accepts — named fields and everything inside free-form JSON (`message.data`,
 * `task_request.inputs`), object keys included — is therefore checked here, once.
 */
import { z } from "zod";

/** True when `s` has no lone surrogate (so it has a UTF-8 encoding). */
export function isWellFormed(s: string): boolean {
  return s.isWellFormed();
}

const NOT_WELL_FORMED = "must be well-formed Unicode (no lone UTF-16 surrogates)";

/**
 * A string schema that refuses lone surrogates; `min`/`max` count UTF-16 code units.
 *
 * @example
 * ```ts
 * wellFormed(1, 200).safeParse("\ud800").success; // false
 * ```
 */
export function wellFormed(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return z.string().min(min).max(max).refine(isWellFormed, NOT_WELL_FORMED);
}

/**
 * Why `value` is not a JSON value with well-formed strings and keys, or null when it is.
 * Iterative, so any nesting depth (free-form data is carried however deep, see
 * tests/client/hostile_test.ts) is checked without exhausting the stack.
 */
export function jsonValueProblem(value: unknown): string | null {
  // Each node keeps its parent and key; the path is spelled out only for the error, so deep
  // values cost no per-level strings.
  type Node = { v: unknown; parent: Node | null; key: string | number };
  const pathOf = (n: Node): string => {
    let out = "";
    for (let at: Node | null = n; at?.parent; at = at.parent) {
      out = (typeof at.key === "number" ? `[${at.key}]` : `.${at.key}`) + out;
      if (out.length > 200) return "…" + out.slice(-200);
    }
    return out.replace(/^\./, "") || "(root)";
  };
  const stack: Node[] = [{ v: value, parent: null, key: "" }];
  const seen = new Set<object>();
  while (stack.length) {
    const node = stack.pop()!;
    const v = node.v;
    if (v === null || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return `${pathOf(node)}: numbers must be finite`;
      continue;
    }
    if (typeof v === "string") {
      if (!isWellFormed(v)) return `${pathOf(node)}: ${NOT_WELL_FORMED}`;
      continue;
    }
    if (typeof v !== "object") return `${pathOf(node)}: ${typeof v} is not a JSON value`;
    if (seen.has(v)) return `${pathOf(node)}: an object or array may appear only once`;
    seen.add(v);
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, parent: node, key: i }));
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      return `${pathOf(node)}: not a plain JSON object`;
    }
    for (const [k, item] of Object.entries(v)) {
      if (!isWellFormed(k)) return `${pathOf(node)}: a key ${NOT_WELL_FORMED}`;
      stack.push({ v: item, parent: node, key: k });
    }
  }
  return null;
}

function checkJson(value: unknown, ctx: z.RefinementCtx) {
  const problem = jsonValueProblem(value);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
}

/** Any JSON value whose strings and keys are well-formed (for free-form `data`). */
export const JsonValueSchema = z.unknown().superRefine(checkJson);

/** A JSON object (string keys) whose strings and keys are well-formed (for `inputs`). */
export const JsonObjectSchema = z.record(z.string(), z.unknown()).superRefine(checkJson);
