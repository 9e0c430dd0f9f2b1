// Litegraph node classes generated from GET /api/nodes: one class per node spec, built only
// from its sockets and widget schema, plus a placeholder class for types the server does not
// know. Every node draws its run state (outline colour, badge, progress bar), the server's
// errors on the node and the offending input, and its display (images, text, data).
import { LGraphBadge, LGraphNode, LiteGraph, RenderShape, TextWidget, type IContextMenuValue } from "@comfyorg/litegraph";
import type { IBaseWidget, IStringWidget } from "@comfyorg/litegraph/dist/types/widgets";
import type { DrawWidgetOptions } from "@comfyorg/litegraph/dist/widgets/BaseWidget";
import type { JsonSchema, NodeSpec } from "./api.js";
import { pickFile } from "./files.js";
import { clip, contentHeight, contentOf, drawContent, type DisplayContent, type DrawnImage, type ImageCache } from "./node-display.js";
import type { NodeIssue, NodeRunState, NodeView, RunView } from "./run-view.js";
import { socketColor } from "./socket-colors.js";
import { fromWidgetValue, roundToStep, toWidgetValue, widgetPlans, type WidgetPlan } from "./widget-plan.js";

/** What nodes need from the editor around them. */
export interface NodeHost {
  runView: RunView;
  images: ImageCache;
  imageUrl(name: string): string;
  /** Uploads into the inputs dir; the stored name, or undefined when it failed (the host says why). */
  upload(file: File): Promise<string | undefined>;
  openMaskReview(data: unknown): void;
  /** A widget value changed (autosave, tiny-model label). */
  edited(): void;
  /** Queues the graph, computing only these output nodes. */
  runOutputs(nodeIds: string[]): void;
}

const STATE_COLORS: Record<Exclude<NodeRunState, "idle">, string> = {
  running: "#3c3",
  cached: "#59f",
  done: "#396",
  error: "#f44",
};
const ERROR_BG = "#5a1d1d";
const WARNING_BG = "#4a3b12";
const WARNING_COLOR = "#d9a520";
const ISSUE_LINE = 15;

export abstract class MudiNode extends LGraphNode {
  static host: NodeHost;
  /** The node's id in the mudi-graph document (litegraph keeps its own numeric id). */
  docId?: string;
  /** Widget values the document holds that this node does not declare; written back unchanged. */
  extraWidgets: Record<string, unknown> = {};
  /** Fields of the document's node entry the editor does not use; written back unchanged. */
  extraFields: Record<string, unknown> = {};
  /** Document links that could not be made here (missing socket); written back unchanged. */
  danglingInputs: Record<string, [string, string]> = {};
  private maskReviewButton?: IBaseWidget;
  /** Where the last frame drew this node's images, in node coordinates. */
  drawnImages: DrawnImage[] = [];

  abstract get docType(): string;
  abstract widgetValues(): Record<string, unknown>;
  abstract setWidgetValues(values: Record<string, unknown>): void;

  constructor(title: string, type: string) {
    super(title, type);
    this.strokeStyles["mudi-state"] = function (this: LGraphNode) {
      const state = (this as MudiNode).view().state;
      if (state === "idle") return undefined;
      return { color: STATE_COLORS[state], lineWidth: state === "running" || state === "error" ? 3 : 2, padding: 6 };
    };
    this.badges.push(() => new LGraphBadge({ text: this.badgeText(), bgColor: this.badgeColor(), fgColor: "#fff" }));
  }

  view(): NodeView {
    return MudiNode.host.runView.node(this.docId ?? "");
  }

  /** The state badge above the title ("" when idle). */
  badgeText(): string {
    const view = this.view();
    const p = view.progress;
    const detail = p?.text ? ` ${p.text.length > 40 ? `${p.text.slice(0, 39)}…` : p.text}` : "";
    const progress = p && p.max > 0 ? ` ${Math.round((100 * p.value) / p.max)}%${detail}` : "";
    return { idle: "", running: `running${progress}`, cached: "cached", done: "done", error: "⚠ error" }[view.state];
  }

  private badgeColor(): string {
    const { state } = this.view();
    return state === "idle" ? "#000" : STATE_COLORS[state];
  }

  /** Called when the run view changed for this node: progress, display, size. */
  refreshRun(): void {
    const view = this.view();
    this.progress = view.progress && view.progress.max > 0 ? Math.min(1, view.progress.value / view.progress.max) : undefined;
    this.syncMaskReview(view);
    const needed = this.contentTop() + contentHeight(this.content());
    if (this.size[1] < needed) this.setSize([Math.max(this.size[0], 280), needed]);
    this.setDirtyCanvas(true, true);
  }

  private syncMaskReview(view: NodeView): void {
    const data = view.display?.data;
    const review = data && typeof data === "object" && "maskReview" in data ? (data as { maskReview: unknown }).maskReview : undefined;
    if (review !== undefined && !this.maskReviewButton) {
      this.maskReviewButton = this.addWidget("button", "Review masks", undefined, () => {
        const current = this.view().display?.data as { maskReview?: unknown } | undefined;
        MudiNode.host.openMaskReview(current?.maskReview);
      });
    } else if (review === undefined && this.maskReviewButton) {
      this.removeWidget(this.maskReviewButton);
      this.maskReviewButton = undefined;
    }
  }

  /** Images on the node that have loaded and are drawn (output or preview). */
  drawnImageCount(): number {
    return this.content().images.filter((img) => img.complete && img.naturalWidth > 0).length;
  }

  private content(): DisplayContent {
    const view = this.view();
    const host = MudiNode.host;
    return contentOf(view.display, view.previewUrl, (n) => host.imageUrl(n), host.images);
  }

  /** Where the body below slots and widgets begins, in node coordinates. */
  protected contentTop(): number {
    let top = Math.max(this.inputs.length, this.outputs.length) * LiteGraph.NODE_SLOT_HEIGHT + 8;
    for (const w of this.widgets ?? []) top = Math.max(top, w.y + (w.computedHeight ?? LiteGraph.NODE_WIDGET_HEIGHT + 4));
    return top;
  }

  override onDrawBackground(ctx: CanvasRenderingContext2D): void {
    if (this.flags.collapsed) return;
    const content = this.content();
    const top = this.contentTop();
    this.drawnImages = [];
    if (content.images.length || content.text.length || content.data !== undefined) {
      this.drawnImages = drawContent(ctx, content, 0, top, this.size[0], this.size[1] - top);
    }
  }

  /** Double-clicking an image on the node opens it full size in a new tab. */
  override onDblClick(_e: unknown, [x, y]: [number, number]): void {
    const hit = this.drawnImages.find((d) => x >= d.x && x <= d.x + d.w && y >= d.y && y <= d.y + d.h);
    if (hit) window.open(hit.url, "_blank", "noopener");
  }

  override onDrawForeground(ctx: CanvasRenderingContext2D): void {
    if (this.flags.collapsed) return;
    this.drawIssues(ctx);
  }

  /** The runtime's errors for this node, each naming the socket or widget it concerns (if any). */
  issues(): NodeIssue[] {
    return this.view().issues;
  }

  /** Server errors: a red box under the node, a ring on each named input, a frame on each named widget. */
  private drawIssues(ctx: CanvasRenderingContext2D): void {
    // Links the document has but the canvas cannot draw are shown too, so nothing kept is invisible.
    const reported = this.issues();
    const dangling = Object.entries(this.danglingInputs)
      .filter(([input]) => !reported.some((i) => i.input === input))
      .map(([input, [source, output]]) => ({
        input,
        message: `the file links this to ${source}.${output}, which this node cannot take (no such socket, or another type); kept in the file`,
      }));
    const issues = [...reported, ...dangling];
    if (!issues.length) return;
    ctx.save();
    ctx.font = "12px Inter, Arial, sans-serif";
    const width = Math.max(this.size[0], 220);
    const lines = issues.flatMap((issue) => {
      return wrap(ctx, withPlace(issue.message, issue.input, "widget" in issue ? issue.widget : undefined), width - 16);
    });
    const top = this.size[1] + 8;
    // Red for the runtime's errors, amber when only the file's undrawable links are left.
    ctx.fillStyle = reported.length ? ERROR_BG : WARNING_BG;
    ctx.strokeStyle = reported.length ? STATE_COLORS.error : WARNING_COLOR;
    ctx.beginPath();
    ctx.roundRect(0, top, width, lines.length * ISSUE_LINE + 10, 6);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = "#fdd";
    lines.forEach((line, i) => ctx.fillText(line, 8, top + 17 + i * ISSUE_LINE));
    ctx.lineWidth = 2;
    for (const issue of issues) {
      if (issue.input) {
        const slot = this.findInputSlot(issue.input);
        if (slot < 0) continue;
        const [x = 0, y = 0] = this.getInputPos(slot);
        ctx.beginPath();
        ctx.arc(x - this.pos[0], y - this.pos[1], 8, 0, Math.PI * 2);
        ctx.stroke();
      }
      if ("widget" in issue && issue.widget) {
        const w = this.widgets?.find((w) => w.name === issue.widget);
        if (!w) continue;
        ctx.beginPath();
        ctx.roundRect(12, w.y - 2, this.size[0] - 24, LiteGraph.NODE_WIDGET_HEIGHT + 4, 8);
        ctx.stroke();
      }
    }
    ctx.restore();
  }
}

/** A multiline text box: the widget shows several wrapped lines and edits in a textarea. */
class MultilineWidget extends TextWidget {
  static readonly LINES = 4;

  override get height(): number {
    return MultilineWidget.LINES * 14 + 8;
  }

  override computeSize(width?: number): [number, number] {
    return [width ?? 0, this.height];
  }

  override drawWidget(ctx: CanvasRenderingContext2D, { width }: DrawWidgetOptions): void {
    const { fillStyle, strokeStyle, textAlign, font } = ctx;
    const margin = 15;
    ctx.fillStyle = this.background_color;
    ctx.strokeStyle = this.outline_color;
    ctx.beginPath();
    ctx.roundRect(margin, this.y, width - margin * 2, this.height, 6);
    ctx.fill();
    ctx.stroke();
    ctx.textAlign = "left";
    ctx.font = "12px Inter, Arial, sans-serif";
    const text = String(this.value ?? "");
    const lines = text ? text.split("\n").flatMap((l) => wrap(ctx, l, width - margin * 2 - 12)) : [this.name];
    ctx.fillStyle = text ? this.text_color : this.secondary_text_color;
    lines.slice(0, MultilineWidget.LINES).forEach((line, i) => ctx.fillText(line, margin + 6, this.y + 15 + i * 14));
    Object.assign(ctx, { fillStyle, strokeStyle, textAlign, font });
  }
}

/** A node type from the server's spec. */
export abstract class SpecNode extends MudiNode {
  static spec: NodeSpec;
  static plans: WidgetPlan[];
  private widgetsByName = new Map<string, { plan: WidgetPlan; widget: IBaseWidget }>();

  get spec(): NodeSpec {
    return (this.constructor as unknown as typeof SpecNode).spec;
  }

  get docType(): string {
    return this.spec.id;
  }

  constructor(title?: string) {
    const ctor = new.target as unknown as typeof SpecNode;
    super(title ?? ctor.spec.title, ctor.spec.id);
    const spec = ctor.spec;
    for (const input of spec.inputs) {
      this.addInput(input.name, input.type, {
        color_on: socketColor(input.type),
        color_off: socketColor(input.type),
        ...(input.optional ? { shape: RenderShape.HollowCircle, label: `${input.name} (optional)` } : {}),
      });
    }
    for (const output of spec.outputs) {
      this.addOutput(output.name, output.type, { color_on: socketColor(output.type), color_off: socketColor(output.type) });
    }
    for (const plan of ctor.plans) this.addPlannedWidget(plan);
    this.setSize(this.computeSize());
    if (spec.output) this.setSize([Math.max(this.size[0], 280), this.size[1]]);
  }

  /** Output nodes offer ComfyUI's "queue selected output": run only what this node needs. */
  override getExtraMenuOptions(): IContextMenuValue[] {
    if (!this.spec.output || this.docId === undefined) return [];
    const id = this.docId;
    return [{ content: "Run only this output", callback: () => MudiNode.host.runOutputs([id]) }];
  }

  private addPlannedWidget(plan: WidgetPlan): void {
    // Number widgets clamp to the range themselves; integers are rounded here.
    const changed = () => {
      if (plan.kind === "number") widget.value = roundToStep(plan, Number(widget.value));
      MudiNode.host.edited();
    };
    const value = toWidgetValue(plan, plan.default);
    let widget: IBaseWidget;
    switch (plan.kind) {
      case "number":
        widget = this.addWidget("number", plan.name, value as number, changed, {
          min: plan.min,
          max: plan.max,
          step2: plan.step,
          precision: plan.precision,
        });
        break;
      case "combo":
        widget = this.addWidget("combo", plan.name, value as string, changed, { values: plan.labels });
        break;
      case "toggle":
        widget = this.addWidget("toggle", plan.name, Boolean(value), changed, {});
        break;
      case "text":
        if (plan.multiline) {
          const w: IStringWidget = { type: "text", name: plan.name, value: String(value ?? ""), options: { multiline: true }, y: 0, callback: changed };
          widget = this.addCustomWidget(new MultilineWidget(w, this));
        } else {
          widget = this.addWidget("text", plan.name, String(value ?? ""), changed, {});
        }
        break;
      case "json":
        widget = this.addWidget("text", plan.name, String(value), changed, {});
        break;
    }
    if (plan.description) widget.tooltip = plan.description;
    this.widgetsByName.set(plan.name, { plan, widget });
    if (plan.kind === "text" && plan.upload) this.addUploadButton(widget, plan.upload);
  }

  /** A button that uploads a file into the inputs dir and puts its name into the widget. */
  private addUploadButton(target: IBaseWidget, accept: string): void {
    this.addWidget("button", `choose ${accept} to upload`, undefined, async () => {
      const file = await pickFile(accept === "image" ? "image/*" : accept);
      const name = file && (await MudiNode.host.upload(file));
      if (!name) return;
      target.value = name;
      MudiNode.host.edited();
      this.setDirtyCanvas(true, true);
    });
  }

  widgetValues(): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [name, { plan, widget }] of this.widgetsByName) values[name] = fromWidgetValue(plan, widget.value);
    return { ...values, ...this.extraWidgets };
  }

  setWidgetValues(values: Record<string, unknown>): void {
    this.extraWidgets = {};
    for (const [name, value] of Object.entries(values)) {
      const entry = this.widgetsByName.get(name);
      if (entry) entry.widget.value = toWidgetValue(entry.plan, value) as IBaseWidget["value"];
      else this.extraWidgets[name] = value;
    }
  }
}

/**
 * A node whose type the server does not know (a newer graph, a missing plugin). It keeps the
 * document's widgets and links as they are, shows them, and saves them back unchanged.
 */
export class PlaceholderNode extends MudiNode {
  constructor(
    readonly unknownType: string,
    inputNames: readonly string[],
    outputNames: readonly string[],
  ) {
    super(`Unknown: ${unknownType}`, unknownType);
    for (const name of inputNames) this.addInput(name, "*");
    for (const name of outputNames) this.addOutput(name, "*");
    this.color = "#722";
    this.bgcolor = "#3a2222";
    this.setSize([Math.max(this.computeSize()[0], 300), this.computeSize()[1]]);
  }

  get docType(): string {
    return this.unknownType;
  }

  widgetValues(): Record<string, unknown> {
    return { ...this.extraWidgets };
  }

  setWidgetValues(values: Record<string, unknown>): void {
    this.extraWidgets = { ...values };
    const needed = this.contentTop() + (this.lines().length + 1) * ISSUE_LINE + 8;
    if (this.size[1] < needed) this.setSize([this.size[0], needed]);
  }

  private lines(): string[] {
    return [
      "Type not known to this server; kept as is.",
      ...Object.entries(this.extraWidgets).map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
    ];
  }

  override onDrawBackground(ctx: CanvasRenderingContext2D): void {
    if (this.flags.collapsed) return;
    ctx.save();
    ctx.font = "12px Inter, Arial, sans-serif";
    ctx.fillStyle = "#fbb";
    const top = this.contentTop();
    this.lines().forEach((line, i) => ctx.fillText(clip(ctx, line, this.size[0] - 16), 8, top + 14 + i * ISSUE_LINE));
    ctx.restore();
  }
}

/** Registers one litegraph node type per spec; the category menu and search box list them. */
export function registerNodeTypes(specs: readonly NodeSpec[], host: NodeHost): void {
  MudiNode.host = host;
  LiteGraph.clearRegisteredTypes();
  for (const spec of specs) {
    const plans = widgetPlans(spec.widgets as JsonSchema);
    const cls = class extends SpecNode {
      static override spec = spec;
      static override plans = plans;
    };
    Object.defineProperty(cls, "name", { value: spec.id.replace(/\W/g, "_") });
    (cls as unknown as { title: string }).title = spec.title;
    LiteGraph.registerNodeType(spec.id, cls as unknown as typeof LGraphNode);
    // registerNodeType derives the category from a "/" path; ours comes from the spec.
    (cls as unknown as { category: string }).category = spec.category;
    (cls as unknown as { desc: string }).desc = spec.description;
  }
}

/** The message, led by the input or widget it concerns unless it names it already. */
function withPlace(message: string, input?: string, widget?: string): string {
  const [kind, name] = input ? ["input", input] : widget ? ["widget", widget] : [];
  if (!kind || message.includes(`"${name}"`)) return message;
  return `${kind} "${name}": ${message}`;
}

function wrap(ctx: CanvasRenderingContext2D, text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width > width && line) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines.length ? lines : [""];
}
