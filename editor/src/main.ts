// Entry point: starts the editor against the server that served this page, and exposes a
// small read-only hook (window.mudi) that the browser tests use to check what is shown.
import "@comfyorg/litegraph/style.css";
import "./style.css";
import { LiteGraph } from "@comfyorg/litegraph";
import { Editor } from "./app.js";
import type { GraphDocument } from "./document.js";
import { nodeByDocId } from "./graph-bridge.js";

export interface TestHook {
  ready: Promise<void>;
  /** The graph document for what the canvas shows. */
  document(): GraphDocument;
  /** What one node shows: run state, badge text, errors (on the input or widget they are drawn at), output images, preview. */
  node(id: string):
    | {
        title: string;
        state: string;
        badge: string;
        issues: { input?: string; widget?: string; message: string }[];
        /** Output image names from the node's display. */
        images: string[];
        /** Images loaded and drawn on the node (outputs, or the live preview). */
        drawnImages: number;
        preview: boolean;
        widgets: string[];
      }
    | undefined;
  nodeIds(): string[];
  /**
   * Where part of a node is on the page, in client pixels, to click it like a user: the widget of
   * that name, "image" for the first image shown, or the title bar.
   */
  screenPoint(id: string, target?: string): { x: number; y: number };
  /** Presses a node's "Review masks" button (drawn on the canvas, so tests cannot click it by selector). */
  reviewMasks(id: string): void;
}

declare global {
  interface Window {
    mudi: TestHook;
  }
}

const root = document.getElementById("app")!;
let editor: Editor | undefined;
const ready = Editor.start(root, new URL(".", location.href).toString()).then(
  (e) => {
    editor = e;
  },
  (err: unknown) => {
    root.replaceChildren(
      Object.assign(document.createElement("pre"), {
        className: "mudi-fatal",
        textContent: `MuDI Studio could not start: ${err instanceof Error ? err.message : String(err)}\n\nIs the runtime running? (npm start)`,
      }),
    );
    throw err;
  },
);

window.mudi = {
  ready,
  document: () => editor!.document(),
  nodeIds: () => Object.keys(editor!.document().nodes),
  screenPoint(id, target) {
    const node = nodeByDocId(editor!.graph, id);
    if (!node) throw new Error(`no node ${id}`);
    const canvas = editor!.canvas;
    canvas.draw(true, true); // widget and image positions are laid out when drawn
    let point: [number, number] = [node.pos[0] + node.size[0] / 2, node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT / 2];
    if (target === "image") {
      const image = node.drawnImages[0];
      if (!image) throw new Error(`node ${id} shows no image`);
      point = [node.pos[0] + image.x + image.w / 2, node.pos[1] + image.y + image.h / 2];
    } else if (target !== undefined) {
      const widget = node.widgets?.find((w) => w.name === target);
      if (!widget) throw new Error(`node ${id} has no widget ${target}`);
      point = [node.pos[0] + node.size[0] / 2, node.pos[1] + widget.y + LiteGraph.NODE_WIDGET_HEIGHT / 2];
    }
    const [cx = 0, cy = 0] = canvas.ds.convertOffsetToCanvas(point);
    const rect = canvas.canvas.getBoundingClientRect();
    return { x: rect.left + cx, y: rect.top + cy };
  },
  reviewMasks(id) {
    const button = nodeByDocId(editor!.graph, id)?.widgets?.find((w) => w.name === "Review masks");
    if (!button?.callback) throw new Error(`node ${id} has no "Review masks" button`);
    button.callback(button.value);
  },
  node(id) {
    const node = nodeByDocId(editor!.graph, id);
    if (!node) return undefined;
    const view = node.view();
    return {
      title: node.title,
      state: view.state,
      badge: node.badgeText(),
      issues: node.issues().map((i) => ({ input: i.input, widget: i.widget, message: i.message })),
      images: view.display?.images ?? [],
      drawnImages: node.drawnImageCount(),
      preview: view.previewUrl !== undefined,
      widgets: (node.widgets ?? []).map((w) => w.name),
    };
  },
};
