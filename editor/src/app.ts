// The editor: a litegraph canvas whose node types come from the runtime, the toolbar and
// panels around it, and the wiring between the graph document, the HTTP API and the event
// stream. Everything node-specific comes from GET /api/nodes.
import { LGraph, LGraphCanvas, LiteGraph } from "@comfyorg/litegraph";
import { ApiClient, type ModelEntry, type NodeSpec } from "./api.js";
import { h } from "./dom.js";
import { emptyDocument, parseDocument, type GraphDocument } from "./document.js";
import { downloadDocument, GRAPH_FILE_TYPES, graphName, pickFile, readGraphFile } from "./files.js";
import { assignDocIds, loadDocument, mudiNodes, nodeByDocId, saveDocument, type DocumentExtras } from "./graph-bridge.js";
import { historyState, UndoHistory } from "./history.js";
import { Messages, type ListedIssue } from "./messages.js";
import { ImageCache } from "./node-display.js";
import { MudiNode, registerNodeTypes, type NodeHost } from "./node-types.js";
import { openMaskReview } from "./mask-review.js";
import { loadMyRuns, loadSavedGraph, saveGraph, saveMyRuns } from "./persistence.js";
import { QueuePanel } from "./queue-panel.js";
import { RunView } from "./run-view.js";
import { socketColor } from "./socket-colors.js";
import { usesTinyPipeline } from "./tiny-model.js";
import { Toolbar } from "./toolbar.js";
import { bindTooltips } from "./tooltip.js";
import { connectEvents } from "./ws-client.js";

const AUTOSAVE_MS = 1000;
/** Opened on a first visit (no graph in localStorage) when the server has it. */
const FIRST_EXAMPLE = "mudi-generate";

export class Editor {
  readonly graph = new LGraph();
  readonly canvas: LGraphCanvas;
  readonly runView = new RunView();
  readonly toolbar: Toolbar;
  readonly queue: QueuePanel;
  readonly messages: Messages;
  private readonly specs: ReadonlyMap<string, NodeSpec>;
  private models: ModelEntry[] = [];
  private extras: DocumentExtras = { top: {}, editor: {} };
  private name = "graph";
  private savedText = "";
  private readonly history = new UndoHistory();

  private constructor(
    readonly api: ApiClient,
    specs: readonly NodeSpec[],
    root: HTMLElement,
  ) {
    this.specs = new Map(specs.map((s) => [s.id, s]));
    this.toolbar = new Toolbar({
      run: () => void this.run(),
      addNode: () => this.showSearch(),
      newGraph: () => this.open(emptyDocument(), "graph"),
      open: () => void this.openPicked(),
      save: () => this.save(),
      openExample: (file, name) => void this.openExample(file, name),
      toggleQueue: () => this.queue.toggle(),
    });
    this.queue = new QueuePanel(this.runView, (runId) => void this.cancel(runId));
    this.messages = new Messages((id) => this.focusNode(id));
    const canvasEl = h("canvas", { class: "mudi-canvas", tabindex: "0" });
    const stage = h("main", { class: "mudi-stage" }, canvasEl, this.queue.el, this.messages.el);
    root.replaceChildren(this.toolbar.el, stage);

    registerNodeTypes(specs, this.nodeHost());
    for (const s of specs) for (const socket of [...s.inputs, ...s.outputs]) LGraphCanvas.link_type_colors[socket.type] = socketColor(socket.type);
    LiteGraph.release_link_on_empty_shows_menu = true;
    this.canvas = new LGraphCanvas(canvasEl, this.graph);
    this.canvas.render_canvas_border = false;
    this.canvas.show_info = false;
    this.graph.onNodeAdded = (node) => {
      if (node instanceof MudiNode && node.docId === undefined) assignDocIds(this.graph);
    };
    const fit = () => {
      const dpr = window.devicePixelRatio || 1;
      this.canvas.resize(Math.round(stage.clientWidth * dpr), Math.round(stage.clientHeight * dpr));
    };
    new ResizeObserver(fit).observe(stage);
    fit();

    this.runView.subscribe((ids) => this.onRunChange(ids));
    bindTooltips(this.canvas, this.graph, stage);
    this.bindFileDrop(stage);
    this.bindKeys();
  }

  /** Builds the editor inside `root`; fails when the runtime cannot be reached. */
  static async start(root: HTMLElement, apiBase: string): Promise<Editor> {
    const api = new ApiClient(apiBase);
    const editor = new Editor(api, await api.nodes(), root);
    await editor.restore();
    editor.connect();
    void editor.loadSideData();
    setInterval(() => editor.autosave(), AUTOSAVE_MS);
    window.addEventListener("beforeunload", () => editor.autosave());
    return editor;
  }

  private nodeHost(): NodeHost {
    return {
      runView: this.runView,
      images: new ImageCache(() => this.canvas.setDirty(true, true)),
      imageUrl: (name) => this.api.viewUrl(name),
      upload: async (file) => {
        try {
          const name = await this.api.upload(file);
          this.messages.notice(`uploaded ${file.name}`);
          return name;
        } catch (e) {
          this.messages.notice((e as Error).message, "error");
          return undefined;
        }
      },
      openMaskReview: (data) => {
        openMaskReview(data, { apiBase: this.api.base }).ready.catch((e: unknown) => this.messages.notice(`mask review: ${(e as Error).message}`, "error"));
      },
      edited: () => this.autosave(),
      runOutputs: (ids) => void this.run(ids),
    };
  }

  // ---- the document -------------------------------------------------------------------

  document(): GraphDocument {
    return saveDocument(this.graph, this.canvas, this.extras);
  }

  open(doc: GraphDocument, name: string): void {
    this.runView.clearNodes();
    this.messages.setIssues("", []);
    this.extras = loadDocument(doc, this.graph, this.canvas);
    if (!doc.editor?.viewport) this.fitView();
    for (const node of mudiNodes(this.graph)) node.refreshRun();
    this.name = name;
    this.toolbar.setName(name);
    const opened = this.document();
    const text = JSON.stringify(opened);
    this.history.reset(historyState(opened, text));
    this.persist(opened, text);
  }

  /** Ctrl+Z / Ctrl+Shift+Z: back to an earlier document, keeping the view and what runs showed. */
  private step(direction: "undo" | "redo"): void {
    this.autosave(); // the last change becomes a step before moving
    const text = direction === "undo" ? this.history.undo() : this.history.redo();
    if (text === undefined) return;
    const { offset, scale } = this.canvas.ds;
    const keep = { offset: [...offset] as [number, number], scale };
    this.extras = loadDocument(parseDocument(JSON.parse(text), direction), this.graph, this.canvas);
    this.canvas.ds.offset = keep.offset;
    this.canvas.ds.scale = keep.scale;
    for (const node of mudiNodes(this.graph)) node.refreshRun();
    const shown = this.document();
    const shownText = JSON.stringify(shown);
    this.history.replace(historyState(shown, shownText));
    this.persist(shown, shownText);
  }

  /** Frames all nodes, never zooming in past 100% (from pos and size: litegraph computes bounding rects only when drawing). */
  private fitView(): void {
    const nodes = this.graph.nodes;
    if (!nodes.length) return;
    const pad = 40;
    const x0 = Math.min(...nodes.map((n) => n.pos[0])) - pad;
    const y0 = Math.min(...nodes.map((n) => n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT)) - pad;
    const x1 = Math.max(...nodes.map((n) => n.pos[0] + n.size[0])) + pad;
    const y1 = Math.max(...nodes.map((n) => n.pos[1] + n.size[1])) + pad * 2; // room for messages under nodes
    const dpr = window.devicePixelRatio || 1;
    const cw = this.canvas.canvas.width / dpr;
    const ch = this.canvas.canvas.height / dpr;
    const scale = Math.min(1, cw / (x1 - x0), ch / (y1 - y0));
    this.canvas.ds.scale = scale;
    this.canvas.ds.offset = [cw / 2 / scale - (x0 + x1) / 2, ch / 2 / scale - (y0 + y1) / 2];
    this.canvas.setDirty(true, true);
  }

  /** The saved graph from the last visit, else the first example, else an empty graph. */
  private async restore(): Promise<void> {
    const saved = loadSavedGraph();
    if (saved) {
      try {
        this.open(parseDocument(saved.json, "the graph saved in this browser"), saved.name);
        return;
      } catch (e) {
        this.messages.notice(`could not restore the last graph: ${(e as Error).message}`, "error");
      }
    }
    const examples = await this.api.examples().catch(() => []);
    const first = examples.find((g) => g.name === FIRST_EXAMPLE) ?? examples[0];
    if (first) await this.openExample(first.file, first.name);
    else this.open(emptyDocument(), "graph");
  }

  /** Records a change (an undo step unless only the view or sizes changed) and keeps it for a reload. */
  private autosave(): void {
    const doc = this.document();
    const text = JSON.stringify(doc);
    if (text === this.savedText) return;
    this.history.record(historyState(doc, text));
    this.persist(doc, text);
  }

  private persist(doc: GraphDocument, text: string): void {
    this.savedText = text;
    if (!saveGraph(text, this.name)) this.messages.notice("this browser refused to keep the graph (storage full)", "error");
    this.toolbar.setTiny(usesTinyPipeline(doc, this.specs, this.models));
  }

  private save(): void {
    downloadDocument(this.document(), this.name);
  }

  private async openPicked(): Promise<void> {
    const file = await pickFile(GRAPH_FILE_TYPES);
    if (file) await this.openFile(file);
  }

  async openFile(file: File): Promise<void> {
    try {
      this.open(await readGraphFile(file), graphName(file.name));
      this.messages.notice(`opened ${file.name}`);
    } catch (e) {
      this.messages.notice((e as Error).message, "error");
    }
  }

  private async openExample(file: string, name: string): Promise<void> {
    try {
      this.open(parseDocument(await this.api.example(file), file), name);
    } catch (e) {
      this.messages.notice(`example ${file}: ${(e as Error).message}`, "error");
    }
  }

  private bindFileDrop(target: HTMLElement): void {
    target.addEventListener("dragover", (e) => {
      if (e.dataTransfer?.types.includes("Files")) e.preventDefault();
    });
    target.addEventListener("drop", (e) => {
      const file = e.dataTransfer?.files[0];
      if (!file) return;
      e.preventDefault();
      void this.openFile(file);
    });
  }

  private bindKeys(): void {
    window.addEventListener("keydown", (e) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      const typing = e.target instanceof HTMLElement && e.target.closest("input, textarea, [contenteditable]");
      if (key === "enter") void this.run();
      else if (key === "s") this.save();
      else if (key === "o") void this.openPicked();
      else if (typing) return; // undo inside a text box is the text box's
      else if (key === "z") this.step(e.shiftKey ? "redo" : "undo");
      else if (key === "y") this.step("redo");
      else return;
      e.preventDefault();
    });
  }

  private showSearch(): void {
    const rect = this.canvas.canvas.getBoundingClientRect();
    const event = new MouseEvent("click", { clientX: rect.left + rect.width / 2, clientY: rect.top + rect.height / 3 });
    // The search box works on the canvas the user last touched; from the toolbar that may be none yet.
    LGraphCanvas.active_canvas = this.canvas;
    this.canvas.showSearchBox(event);
  }

  private focusNode(docId: string): void {
    const node = nodeByDocId(this.graph, docId);
    if (!node) return;
    this.canvas.centerOnNode(node);
    this.canvas.selectNode(node);
  }

  // ---- runs ---------------------------------------------------------------------------

  /** Queues the graph (only the given output nodes, when named). */
  async run(outputs?: string[]): Promise<void> {
    try {
      const result = await this.api.submitRun(this.document(), outputs);
      if (result.ok) {
        this.runView.queued(result.runId);
        saveMyRuns(this.runView.mine);
      } else {
        this.runView.rejected(result.errors);
        this.messages.notice(`run refused: ${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}`, "error");
      }
    } catch (e) {
      this.messages.notice((e as Error).message, "error");
    }
  }

  private async cancel(runId: string): Promise<void> {
    try {
      await this.api.cancelRun(runId);
    } catch (e) {
      this.messages.notice((e as Error).message, "error");
    }
  }

  private connect(): void {
    for (const id of loadMyRuns()) this.runView.mine.add(id);
    const wsUrl = new URL("ws", this.api.base);
    wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
    connectEvents(wsUrl.toString(), {
      event: (e) => this.runView.apply(e),
      preview: (frame) => {
        const url = URL.createObjectURL(new Blob([frame.bytes as BlobPart], { type: frame.mime }));
        this.runView.preview(frame.runId, frame.nodeId, url);
      },
      connection: (open) => {
        this.toolbar.setConnected(open);
        if (open) void this.refreshQueue();
      },
    });
  }

  private async refreshQueue(): Promise<void> {
    try {
      const { queue, runs } = await this.api.runs();
      this.runView.syncQueue([...[...runs].reverse(), ...queue]);
    } catch (e) {
      this.messages.notice(`queue: ${(e as Error).message}`, "error");
    }
  }

  /** Examples, and models for the tiny label. */
  private async loadSideData(): Promise<void> {
    const [examples, models] = await Promise.allSettled([this.api.examples(), this.api.models()]);
    if (examples.status === "fulfilled") this.toolbar.setExamples(examples.value);
    else this.messages.notice(`examples: ${String(examples.reason)}`, "error");
    if (models.status === "fulfilled") {
      this.models = models.value;
      this.toolbar.setTiny(usesTinyPipeline(this.document(), this.specs, this.models));
    }
  }

  private onRunChange(ids: readonly string[]): void {
    for (const id of ids) nodeByDocId(this.graph, id)?.refreshRun();
    this.queue.render();
    this.toolbar.setQueueCount(this.queue.activeCount());
    this.messages.setIssues(this.issueTitle(), this.listedIssues());
    this.canvas.setDirty(true, true);
  }

  private issueTitle(): string {
    return this.runView.refused ? "The runtime refused this graph" : "Errors in the last run";
  }

  private listedIssues(): ListedIssue[] {
    const graphLevel = this.runView.graphIssues.map((message) => ({ where: "graph:", message }));
    const perNode = this.runView.nodesWithIssues().flatMap(([nodeId, reported]) => {
      const node = nodeByDocId(this.graph, nodeId);
      const label = node ? `${node.title} (${nodeId})` : nodeId;
      return (node ? node.issues() : reported).map((i) => ({
        nodeId,
        where: `${label}${i.input ? `, input ${i.input}` : i.widget ? `, widget ${i.widget}` : ""}:`,
        message: i.message,
      }));
    });
    return [...graphLevel, ...perNode];
  }
}
