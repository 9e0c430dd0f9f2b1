// Draws what a node shows below its widgets: preview or output images, text lines, and any
// display data (a line plot for {plot:{x,y}}, a table for rows of flat objects, key/value
// rows for a flat object, JSON text otherwise). Generic: no node-specific code.
import type { NodeDisplay } from "../../contract/display.js";

const LINE = 15;
const PLOT_HEIGHT = 150;
const IMAGE_MIN_HEIGHT = 160;
const MAX_TABLE_ROWS = 12;
const TEXT_COLOR = "#ddd";
const DIM_COLOR = "#999";

export interface DisplayContent {
  images: HTMLImageElement[];
  /** "preview" while running, "output" when finished. */
  imageKind?: "preview" | "output";
  text: string[];
  data?: unknown;
}

/** Images kept loaded; older ones (replaced previews, earlier outputs) are dropped first. */
const CACHED_IMAGES = 64;

/** Loads images once per URL and asks for a redraw when each arrives. */
export class ImageCache {
  private readonly images = new Map<string, HTMLImageElement>();
  constructor(private readonly onLoad: () => void) {}

  get(url: string): HTMLImageElement {
    let img = this.images.get(url);
    if (img) {
      this.images.delete(url); // re-inserted below as the most recently used
    } else {
      img = new Image();
      img.onload = () => this.onLoad();
      img.src = url;
    }
    this.images.set(url, img);
    if (this.images.size > CACHED_IMAGES) this.images.delete(this.images.keys().next().value!);
    return img;
  }
}

export function contentOf(display: NodeDisplay | undefined, previewUrl: string | undefined, imageUrl: (name: string) => string, cache: ImageCache): DisplayContent {
  const outputs = display?.images ?? [];
  const images = previewUrl && !outputs.length ? [cache.get(previewUrl)] : outputs.map((n) => cache.get(imageUrl(n)));
  return {
    images,
    imageKind: images.length ? (previewUrl && !outputs.length ? "preview" : "output") : undefined,
    text: display?.text ?? [],
    data: dataToShow(display?.data),
  };
}

/** `maskReview` is a button, not something to print. */
function dataToShow(data: unknown): unknown {
  if (!data || typeof data !== "object" || Array.isArray(data) || !("maskReview" in data)) return data;
  const { maskReview: _, ...rest } = data as Record<string, unknown>;
  return Object.keys(rest).length ? rest : undefined;
}

/** Text lines and data height a node grows for; more is shown when the user enlarges it. */
const GROW_TEXT_LINES = 3;
const GROW_DATA_HEIGHT = 200;

/** Height a node grows to below its widgets: images get IMAGE_MIN_HEIGHT, long text only a few lines. */
export function contentHeight(content: DisplayContent): number {
  let h = 0;
  if (content.images.length) h += IMAGE_MIN_HEIGHT;
  h += Math.min(content.text.length, GROW_TEXT_LINES) * LINE;
  if (content.data !== undefined) h += Math.min(dataBlock(content.data).height, GROW_DATA_HEIGHT) + 6;
  return h ? h + 8 : 0;
}

/** The text lines that fit in `room`, the last one saying how many did not. */
function fitLines(text: string[], room: number): string[] {
  if (text.length * LINE <= room) return text;
  const kept = Math.max(0, Math.floor(room / LINE) - 1);
  const hidden = text.length - kept;
  return [...text.slice(0, kept), `… ${hidden} more line${hidden === 1 ? "" : "s"} (enlarge the node)`];
}

/** Where an image was drawn, in the coordinates drawContent was given. */
export interface DrawnImage {
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Draws the content into the box; returns where each image went (for opening one on double-click). */
export function drawContent(ctx: CanvasRenderingContext2D, content: DisplayContent, x: number, y: number, w: number, h: number): DrawnImage[] {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip();
  ctx.font = "12px Inter, Arial, sans-serif";
  ctx.textAlign = "left";
  let top = y + 4;
  const room = h - 8;
  const block = content.data !== undefined ? dataBlock(content.data) : undefined;
  const dataH = block ? block.height + 6 : 0;
  const imageMin = content.images.length ? Math.min(IMAGE_MIN_HEIGHT, room) : 0;
  const lines = fitLines(content.text, Math.max(0, room - dataH - imageMin));
  const imageHeight = Math.max(0, room - lines.length * LINE - dataH);
  let drawn: DrawnImage[] = [];
  if (content.images.length && imageHeight > 0) {
    drawn = drawImages(ctx, content.images, x + 6, top, w - 12, imageHeight);
    const first = drawn[0];
    if (content.imageKind === "preview" && first) {
      ctx.fillStyle = "rgba(0,0,0,0.6)";
      ctx.fillRect(first.x, first.y, 52, 16);
      ctx.fillStyle = "#fff";
      ctx.fillText("preview", first.x + 4, first.y + 12);
    }
    top += imageHeight;
  }
  ctx.fillStyle = TEXT_COLOR;
  for (const line of lines) {
    ctx.fillText(clip(ctx, line, w - 16), x + 8, top + 12);
    top += LINE;
  }
  if (block) drawBlock(ctx, block, x + 8, top + 3, w - 16);
  ctx.restore();
  return drawn;
}

/** Images side by side in a grid, each fitted and centred in its cell. */
function drawImages(ctx: CanvasRenderingContext2D, images: HTMLImageElement[], x: number, y: number, w: number, h: number): DrawnImage[] {
  const cols = Math.ceil(Math.sqrt(images.length));
  const rows = Math.ceil(images.length / cols);
  const cw = w / cols;
  const ch = h / rows;
  const drawn: DrawnImage[] = [];
  images.forEach((img, i) => {
    if (!img.complete || !img.naturalWidth) return;
    const scale = Math.min(cw / img.naturalWidth, ch / img.naturalHeight);
    const dw = img.naturalWidth * scale;
    const dh = img.naturalHeight * scale;
    const cx = x + (i % cols) * cw + (cw - dw) / 2;
    const cy = y + Math.floor(i / cols) * ch + (ch - dh) / 2;
    ctx.drawImage(img, cx, cy, dw, dh);
    drawn.push({ url: img.src, x: cx, y: cy, w: dw, h: dh });
  });
  return drawn;
}

type Plot = { x: number[]; y: number[] };

function asPlot(data: unknown): Plot | undefined {
  if (!data || typeof data !== "object" || !("plot" in data)) return undefined;
  const plot = (data as { plot: unknown }).plot;
  if (!plot || typeof plot !== "object") return undefined;
  const { x, y } = plot as Record<string, unknown>;
  const numbers = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === "number");
  return numbers(x) && numbers(y) && x.length === y.length ? { x, y } : undefined;
}

type Cell = string | number | boolean | null;
const isCell = (v: unknown): v is Cell => v === null || ["string", "number", "boolean"].includes(typeof v);

function asTable(data: unknown): { columns: string[]; rows: Record<string, unknown>[] } | undefined {
  if (!Array.isArray(data) || !data.length) return undefined;
  if (!data.every((r) => r && typeof r === "object" && !Array.isArray(r) && Object.values(r).every(isCell))) return undefined;
  const rows = data as Record<string, unknown>[];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return { columns, rows };
}

function asPairs(data: unknown): [string, Cell][] | undefined {
  if (!data || typeof data !== "object" || Array.isArray(data)) return undefined;
  const entries = Object.entries(data);
  return entries.every(([, v]) => isCell(v)) ? (entries as [string, Cell][]) : undefined;
}

/** How a piece of display data is shown, and the height it takes. */
export type DataBlock =
  | { kind: "plot"; plot: Plot; height: number }
  | { kind: "table"; columns: string[]; rows: Record<string, unknown>[]; height: number }
  | { kind: "pairs"; pairs: [string, Cell][]; height: number }
  /** An object of mixed parts (say a loss plot beside a results table): one titled block per key. */
  | { kind: "sections"; sections: [string, DataBlock][]; height: number }
  | { kind: "json"; lines: string[]; height: number };

export function dataBlock(data: unknown, nested = false): DataBlock {
  const plot = asPlot(data);
  if (plot) return { kind: "plot", plot, height: PLOT_HEIGHT };
  const table = asTable(data);
  if (table) {
    const shown = Math.min(table.rows.length, MAX_TABLE_ROWS) + 1 + (table.rows.length > MAX_TABLE_ROWS ? 1 : 0);
    return { kind: "table", ...table, height: shown * LINE };
  }
  const pairs = asPairs(data);
  if (pairs) return { kind: "pairs", pairs, height: pairs.length * LINE };
  if (!nested && data && typeof data === "object" && !Array.isArray(data)) {
    const sections = Object.entries(data).map(([k, v]): [string, DataBlock] => [k, isCell(v) ? { kind: "pairs", pairs: [[k, v]], height: LINE } : dataBlock(v, true)]);
    return { kind: "sections", sections, height: sections.reduce((h, [, b]) => h + b.height + (b.kind === "pairs" && b.pairs.length === 1 ? 0 : LINE), 0) };
  }
  const lines = jsonLines(data).slice(0, MAX_TABLE_ROWS);
  return { kind: "json", lines, height: lines.length * LINE };
}

function drawBlock(ctx: CanvasRenderingContext2D, block: DataBlock, x: number, y: number, w: number): void {
  switch (block.kind) {
    case "plot":
      return drawPlot(ctx, block.plot, x, y, w, block.height);
    case "table":
      return drawTable(ctx, block.columns, block.rows, x, y, w);
    case "pairs":
      block.pairs.forEach(([k, v], i) => {
        ctx.fillStyle = DIM_COLOR;
        ctx.fillText(clip(ctx, k, w * 0.45), x, y + 12 + i * LINE);
        ctx.fillStyle = TEXT_COLOR;
        ctx.fillText(clip(ctx, formatCell(v), w * 0.5), x + w * 0.5, y + 12 + i * LINE);
      });
      return;
    case "sections": {
      let top = y;
      for (const [title, part] of block.sections) {
        if (!(part.kind === "pairs" && part.pairs.length === 1)) {
          ctx.fillStyle = DIM_COLOR;
          ctx.fillText(clip(ctx, `${title}:`, w), x, top + 12);
          top += LINE;
        }
        drawBlock(ctx, part, x, top, w);
        top += part.height;
      }
      return;
    }
    case "json":
      ctx.save();
      ctx.fillStyle = TEXT_COLOR;
      ctx.font = "11px monospace";
      block.lines.forEach((line, i) => ctx.fillText(clip(ctx, line, w), x, y + 12 + i * LINE));
      ctx.restore();
  }
}

function drawTable(ctx: CanvasRenderingContext2D, columns: string[], rows: Record<string, unknown>[], x: number, y: number, w: number): void {
  const cw = w / columns.length;
  ctx.fillStyle = DIM_COLOR;
  columns.forEach((c, j) => ctx.fillText(clip(ctx, c, cw - 4), x + j * cw, y + 12));
  ctx.fillStyle = TEXT_COLOR;
  rows.slice(0, MAX_TABLE_ROWS).forEach((row, i) => {
    columns.forEach((c, j) => {
      const v = row[c];
      ctx.fillText(clip(ctx, v === undefined ? "" : formatCell(v as Cell), cw - 4), x + j * cw, y + 12 + (i + 1) * LINE);
    });
  });
  if (rows.length > MAX_TABLE_ROWS) {
    ctx.fillStyle = DIM_COLOR;
    ctx.fillText(`… ${rows.length - MAX_TABLE_ROWS} more rows`, x, y + 12 + (MAX_TABLE_ROWS + 1) * LINE);
  }
}

function drawPlot(ctx: CanvasRenderingContext2D, { x: xs, y: ys }: Plot, x: number, y: number, w: number, h: number): void {
  const pad = { left: 44, bottom: 16, top: 4, right: 4 };
  const pw = w - pad.left - pad.right;
  const ph = h - pad.top - pad.bottom;
  ctx.fillStyle = "#222";
  ctx.fillRect(x + pad.left, y + pad.top, pw, ph);
  if (!xs.length) return;
  const [x0, x1] = extent(xs);
  const [y0, y1] = extent(ys);
  const px = (v: number) => x + pad.left + ((v - x0) / (x1 - x0 || 1)) * pw;
  const py = (v: number) => y + pad.top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  ctx.strokeStyle = "#6cf";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  xs.forEach((xv, i) => (i ? ctx.lineTo(px(xv), py(ys[i]!)) : ctx.moveTo(px(xv), py(ys[i]!))));
  ctx.stroke();
  ctx.fillStyle = DIM_COLOR;
  ctx.font = "10px sans-serif";
  ctx.textAlign = "right";
  ctx.fillText(formatNumber(y1), x + pad.left - 4, y + pad.top + 9);
  ctx.fillText(formatNumber(y0), x + pad.left - 4, y + pad.top + ph);
  ctx.textAlign = "left";
  ctx.fillText(formatNumber(x0), x + pad.left, y + h - 4);
  ctx.textAlign = "right";
  ctx.fillText(formatNumber(x1), x + w - pad.right, y + h - 4);
  ctx.textAlign = "left";
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

function formatCell(v: Cell): string {
  return typeof v === "number" ? formatNumber(v) : String(v);
}

function jsonLines(data: unknown): string[] {
  return (JSON.stringify(data, null, 1) ?? "").split("\n");
}

/** The text, cut with "…" to fit `width`. */
export function clip(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + "…").width <= width) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo) + "…";
}
