// Between the mudi-graph document and litegraph's objects. litegraph's own serialisation is
// never saved or sent: the document is the one format (files, runs, autosave), and canvas
// layout (positions, sizes, groups, viewport, renamed titles) lives in its `editor` section.
import { LGraphGroup, LiteGraph, type LGraph, type LGraphCanvas, type LGraphNode } from "@comfyorg/litegraph";
import { GRAPH_FORMAT, GRAPH_VERSION, layoutGroups, layoutViewport, type DocGroup, type EditorLayout, type GraphDocument, type GraphNode } from "./document.js";
import { MudiNode, PlaceholderNode } from "./node-types.js";

const COLUMN_WIDTH = 360;
const ROW_HEIGHT = 260;

/** Document fields the editor does not use, written back unchanged (newer editors, hand edits). */
export interface DocumentExtras {
  top: Record<string, unknown>;
  editor: Record<string, unknown>;
}

/** Replaces the graph's contents with the document's. */
export function loadDocument(doc: GraphDocument, graph: LGraph, canvas: LGraphCanvas): DocumentExtras {
  graph.clear();
  const { format: _f, version: _v, nodes: _n, editor: layout = {}, ...top } = doc;
  const { positions: _p, sizes: _s, groups: _g, viewport: _vp, ...editorExtras } = layout;
  const created = new Map<string, MudiNode>();
  const fallback = autoLayout(doc);
  for (const [id, docNode] of Object.entries(doc.nodes)) {
    const node = createNode(id, docNode, doc);
    const { type: _t, widgets: _w, inputs: _i, title, ...extraFields } = docNode;
    node.docId = id;
    node.extraFields = extraFields;
    if (title !== undefined) node.title = title;
    node.pos = layout.positions?.[id] ?? fallback.get(id) ?? [0, 0];
    graph.add(node);
    node.setWidgetValues(docNode.widgets);
    const size = layout.sizes?.[id];
    if (size) node.setSize(size);
    created.set(id, node);
  }
  for (const [id, docNode] of Object.entries(doc.nodes)) {
    const target = created.get(id)!;
    for (const [inputName, [sourceId, outputName]] of Object.entries(docNode.inputs)) {
      const source = created.get(sourceId);
      const inputSlot = target.findInputSlot(inputName);
      const outputSlot = source ? source.findOutputSlot(outputName) : -1;
      const link = source && inputSlot >= 0 && outputSlot >= 0 ? source.connect(outputSlot, target, inputSlot) : null;
      if (!link) target.danglingInputs[inputName] = [sourceId, outputName];
    }
  }
  for (const g of layoutGroups(layout)) graph.add(toGroup(g));
  const viewport = layoutViewport(layout);
  if (viewport) {
    canvas.ds.offset = [...viewport.offset];
    canvas.ds.scale = viewport.scale;
  }
  canvas.setDirty(true, true);
  return { top, editor: editorExtras };
}

function createNode(id: string, docNode: GraphNode, doc: GraphDocument): MudiNode {
  const known = LiteGraph.createNode(docNode.type);
  if (known instanceof MudiNode) return known;
  // Its outputs are whatever other nodes take from it.
  const outputs = new Set<string>();
  for (const other of Object.values(doc.nodes)) {
    for (const [sourceId, outputName] of Object.values(other.inputs)) if (sourceId === id) outputs.add(outputName);
  }
  return new PlaceholderNode(docNode.type, Object.keys(docNode.inputs), [...outputs]);
}

/** Columns by depth (longest path from a source), for documents written without positions. */
function autoLayout(doc: GraphDocument): Map<string, [number, number]> {
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id) || !doc.nodes[id]) return 0;
    visiting.add(id);
    const sources = Object.values(doc.nodes[id].inputs).map(([s]) => s);
    const d = sources.length ? 1 + Math.max(...sources.map(depthOf)) : 0;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const rows = new Map<number, number>();
  const positions = new Map<string, [number, number]>();
  for (const id of Object.keys(doc.nodes)) {
    const d = depthOf(id);
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    positions.set(id, [60 + d * COLUMN_WIDTH, 80 + row * ROW_HEIGHT]);
  }
  return positions;
}

function toGroup(g: DocGroup): LGraphGroup {
  const group = new LGraphGroup(g.title);
  group.configure({ id: -1, title: g.title, bounding: [...g.bounding], ...(g.color ? { color: g.color } : {}) });
  return group;
}

/** The document for what the canvas shows now. */
export function saveDocument(graph: LGraph, canvas: LGraphCanvas, extras: DocumentExtras): GraphDocument {
  assignDocIds(graph);
  const nodes: GraphDocument["nodes"] = {};
  const positions: NonNullable<EditorLayout["positions"]> = {};
  const sizes: NonNullable<EditorLayout["sizes"]> = {};
  for (const node of mudiNodes(graph)) {
    const id = node.docId!;
    const inputs: GraphNode["inputs"] = { ...node.danglingInputs };
    node.inputs.forEach((input) => {
      const link = input.link != null ? graph.getLink(input.link) : undefined;
      const source = link ? graph.getNodeById(link.origin_id) : null;
      if (!link || !(source instanceof MudiNode)) return;
      const output = source.outputs[link.origin_slot];
      if (!output) throw new Error(`input "${input.name}" of node ${id} is linked to output slot ${link.origin_slot} of node ${source.docId}, which has no such slot`);
      inputs[input.name] = [source.docId!, output.name];
    });
    const title = node.title !== defaultTitle(node) ? { title: node.title } : {};
    nodes[id] = { ...node.extraFields, type: node.docType, widgets: node.widgetValues(), inputs, ...title };
    positions[id] = [Math.round(node.pos[0]), Math.round(node.pos[1])];
    sizes[id] = [Math.round(node.size[0]), Math.round(node.size[1])];
  }
  const groups: DocGroup[] = graph.groups.map((g) => ({
    title: g.title,
    bounding: [Math.round(g.pos[0]), Math.round(g.pos[1]), Math.round(g.size[0]), Math.round(g.size[1])],
    ...(g.color ? { color: g.color } : {}),
  }));
  const editor: EditorLayout = {
    ...extras.editor,
    positions,
    sizes,
    groups,
    viewport: { offset: [Math.round(canvas.ds.offset[0]), Math.round(canvas.ds.offset[1])], scale: Number(canvas.ds.scale.toFixed(4)) },
  };
  return { ...extras.top, format: GRAPH_FORMAT, version: GRAPH_VERSION, nodes, editor };
}

export function mudiNodes(graph: LGraph): MudiNode[] {
  return graph.nodes.filter((n): n is MudiNode => n instanceof MudiNode);
}

export function nodeByDocId(graph: LGraph, id: string): MudiNode | undefined {
  return mudiNodes(graph).find((n) => n.docId === id);
}

/** Nodes the user added get the lowest free numeric id; a pasted copy of a node gets a new one. */
export function assignDocIds(graph: LGraph): void {
  const nodes = mudiNodes(graph);
  const taken = new Set(nodes.map((n) => n.docId));
  const seen = new Set<string>();
  let next = 1;
  for (const node of nodes) {
    if (node.docId === undefined || seen.has(node.docId)) {
      while (taken.has(String(next))) next++;
      node.docId = String(next);
      taken.add(node.docId);
    }
    seen.add(node.docId);
  }
}

function defaultTitle(node: LGraphNode): string {
  if (node instanceof PlaceholderNode) return `Unknown: ${node.unknownType}`;
  return (node.constructor as { title?: string }).title ?? node.type;
}
