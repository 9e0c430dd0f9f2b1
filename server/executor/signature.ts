// A node's cache signature: its type, widget values and the signatures (plus output names) of
// what feeds each input, hashed. Equal signatures mean equal outputs for deterministic nodes,
// so a changed widget changes exactly that node's signature and its descendants'.
import { createHash } from "node:crypto";
import { canonicalJson } from "../../lib/canonical-json.js";

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
