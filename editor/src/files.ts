// Opening and saving graph files: JSON documents, or PNGs written by SaveImage with the
// document in their "mudi-graph" tEXt chunk.
import { parseDocument, type GraphDocument } from "./document.js";
import { graphTextFromPng, isPng } from "../../lib/image/png-chunks.js";

export const GRAPH_FILE_TYPES = ".json,.png,application/json,image/png";

export async function readGraphFile(file: File): Promise<GraphDocument> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let text: string;
  if (isPng(bytes)) {
    const embedded = graphTextFromPng(bytes);
    if (embedded === undefined) throw new Error(`${file.name} has no graph in it (no "mudi-graph" text chunk)`);
    text = embedded;
  } else if (file.type.startsWith("image/")) {
    throw new Error(`${file.name} has no graph in it: only PNGs written by Save Image carry one`);
  } else {
    text = new TextDecoder().decode(bytes);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file.name} is not JSON: ${(e as Error).message}`);
  }
  return parseDocument(json, file.name);
}

export function downloadDocument(doc: GraphDocument, name: string): void {
  const blob = new Blob([JSON.stringify(doc, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name.endsWith(".json") ? name : `${name}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Asks the user for one file. The input stays in the document until the choice is made:
 * a detached input can be garbage-collected while the dialog is open, losing the answer.
 */
export function pickFile(accept: string): Promise<File | undefined> {
  return new Promise((resolve) => {
    const input = document.createElement("input");
    input.type = "file";
    input.accept = accept;
    input.hidden = true;
    const done = (file: File | undefined) => {
      input.remove();
      resolve(file);
    };
    input.addEventListener("change", () => done(input.files?.[0]));
    input.addEventListener("cancel", () => done(undefined));
    document.body.append(input);
    input.click();
  });
}

/** The name a graph goes by: the file it came from, without extension. */
export function graphName(fileName: string): string {
  return fileName.replace(/\.(json|png)$/i, "") || "graph";
}
