// The document's identity (format name, current version) and its error type, shared by the
// schema and the migrations.
export const GRAPH_FORMAT = "mudi-graph";
export const GRAPH_VERSION = 1;

/** A problem with the graph document itself (not with one node's settings). */
export class GraphFormatError extends Error {
  constructor(
    message: string,
    /** Where in the document each problem is (["nodes", id, "type"], ...). */
    readonly issues: readonly { path: readonly (string | number)[]; message: string }[] = [],
  ) {
    super(message);
    this.name = "GraphFormatError";
  }
}
