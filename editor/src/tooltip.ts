// Hover help on the canvas: a node's description over its title, a widget's or socket's
// description over it (all from GET /api/nodes), shown after a short pause like ComfyUI's.
import type { LGraph, LGraphCanvas } from "@comfyorg/litegraph";
import { h } from "./dom.js";
import { SpecNode } from "./node-types.js";

const DELAY_MS = 500;

export function bindTooltips(canvas: LGraphCanvas, graph: LGraph, stage: HTMLElement): void {
  const tip = h("div", { class: "mudi-tooltip", hidden: "" });
  stage.append(tip);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hide = () => {
    clearTimeout(timer);
    tip.hidden = true;
  };
  canvas.canvas.addEventListener("pointerleave", hide);
  canvas.canvas.addEventListener("pointerdown", hide);
  canvas.canvas.addEventListener("pointermove", (e) => {
    hide();
    timer = setTimeout(() => {
      const text = helpAt(graph, canvas.graph_mouse[0], canvas.graph_mouse[1]);
      if (!text) return;
      const rect = stage.getBoundingClientRect();
      tip.textContent = text;
      tip.style.left = `${e.clientX - rect.left + 14}px`;
      tip.style.top = `${e.clientY - rect.top + 18}px`;
      tip.hidden = false;
    }, DELAY_MS);
  });
}

function helpAt(graph: LGraph, x: number, y: number): string | undefined {
  const node = graph.getNodeOnPos(x, y);
  if (!(node instanceof SpecNode)) return undefined;
  const { spec } = node;
  if (y < node.pos[1]) return spec.description || undefined;
  const widget = node.getWidgetOnPos(x, y);
  if (widget) return widget.tooltip;
  const slot = node.getSlotOnPos([x, y]);
  if (!slot) return undefined;
  const description = [...spec.inputs, ...spec.outputs].find((s) => s.name === slot.name)?.description;
  return `${slot.name}: ${String(slot.type)}${description ? ` — ${description}` : ""}`;
}
