// The document's identity (format name, current version) and its error type, shared by the
// schema and the migrations.
export const GRAPH_FORMAT = "mudi-graph";
export const GRAPH_VERSION = 1;

/** A problem with the graph document itself (not with one node's settings). */
export class GraphFormatError extends Error {
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = "GraphFormatError";
  }
}
