// A node's cache signature: its type, widget values and the signatures (plus output names) of
// what feeds each input, hashed. Equal signatures mean equal outputs for deterministic nodes,
// so a changed widget changes exactly that node's signature and its descendants'.
import { createHash } from "node:crypto";

/** JSON with object keys sorted, so {a,b} and {b,a} hash alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export interface SignatureParts {
  type: string;
  widgets: Record<string, unknown>;
  /** Input name -> [upstream signature, upstream output name]. */
  inputs: Record<string, readonly [string, string]>;
  /** The node's own cacheKey() result, if it has one. */
  extra?: string;
}

export function nodeSignature(parts: SignatureParts): string {
  return createHash("sha256").update(canonicalJson(parts)).digest("hex");
}
