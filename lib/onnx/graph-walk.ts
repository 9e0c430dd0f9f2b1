// Graph traversal shared by the autodiff, the LoRA rewriter and the loss: node order, pruning,
// and extending an existing graph through a GraphBuilder.
// ONNX says graphs should be topologically sorted, but rewriters (ours included) append
// nodes anywhere, so every consumer sorts before it walks.
import type { GraphBuilder, onnx } from "./graph.js";

/** Nodes in an order where every producer precedes its consumers (stable for sorted input). */
export function toposort(nodes: readonly onnx.INodeProto[], available: Iterable<string>): onnx.INodeProto[] {
  const ready = new Set(available);
  ready.add("");
  const pending = [...nodes];
  const out: onnx.INodeProto[] = [];
  while (pending.length) {
    const before = pending.length;
    for (let i = 0; i < pending.length; ) {
      const n = pending[i]!;
      if ((n.input ?? []).every((x) => ready.has(x))) {
        out.push(n);
        for (const o of n.output ?? []) ready.add(o);
        pending.splice(i, 1);
      } else i++;
    }
    if (pending.length === before) {
      const n = pending[0]!;
      const missing = (n.input ?? []).filter((x) => !ready.has(x));
      throw new Error(`graph has a cycle or undefined tensors: node ${n.name} (${n.opType}) waits for ${missing.join(", ")}`);
    }
  }
  return out;
}

/** Names produced or provided before any node runs: graph inputs and initializers. */
export function sourceNames(graph: onnx.IGraphProto): Set<string> {
  return new Set([...(graph.input ?? []).map((v) => v.name!), ...(graph.initializer ?? []).map((t) => t.name!)]);
}

/** Every name the graph already uses (inputs, initializers, node names, node outputs): what a builder extending it must reserve. */
export function usedNames(graph: onnx.IGraphProto): string[] {
  return [...sourceNames(graph), ...(graph.node ?? []).flatMap((n) => [n.name ?? "", ...(n.output ?? [])])];
}

/** Appends what a builder made (nodes, initializers, inputs) to the graph. */
export function appendBuilt(graph: onnx.IGraphProto, g: GraphBuilder): void {
  graph.node = [...(graph.node ?? []), ...g.nodes];
  graph.initializer = [...(graph.initializer ?? []), ...g.initializers];
  graph.input = [...(graph.input ?? []), ...g.inputs];
}

/**
 * Keeps only what the graph outputs need: nodes (in the given order), initializers and
 * inputs. Mutates and returns the graph.
 */
export function pruneGraph(graph: onnx.IGraphProto): onnx.IGraphProto {
  const needed = new Set((graph.output ?? []).map((o) => o.name!));
  const nodes = graph.node ?? [];
  const keep: onnx.INodeProto[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if ((n.output ?? []).some((o) => needed.has(o))) {
      keep.push(n);
      for (const x of n.input ?? []) if (x) needed.add(x);
    }
  }
  graph.node = keep.reverse();
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name!));
  graph.input = (graph.input ?? []).filter((v) => needed.has(v.name!));
  return graph;
}
