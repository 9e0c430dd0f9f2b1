// The mask review panel: a plain DOM overlay that shows every photo of an AutoMask run with its
// mask tinted over it. Dragging a box on a photo asks the server for a new SAM mask from that
// box; Accept saves it next to the subject (server/routes/subjects.ts does the writing).
import type { Rect as Box } from "../../contract/geometry.js";
import type { ReviewManifest } from "../../contract/review.js";

export interface MaskReviewOptions {
  /** Base URL of the server ("http://127.0.0.1:8188/"); empty = this page's origin. */
  readonly apiBase: string;
}

export interface MaskReviewHandle {
  readonly element: HTMLElement;
  /** Resolves when the manifest and every photo are shown (or rejects with the load error). */
  readonly ready: Promise<void>;
  close(): void;
}

type ReviewImage = ReviewManifest["subjects"][number]["images"][number];

const CARD_SIZE = 240;
const STYLE_ID = "mudi-mask-review-style";
const STYLE = `
.mudi-mask-review{position:fixed;inset:4vh 4vw;z-index:1000;background:#1e1f24;color:#ddd;border:1px solid #555;
 border-radius:6px;box-shadow:0 8px 32px #000a;display:flex;flex-direction:column;font:13px system-ui,sans-serif}
.mudi-mask-review header{display:flex;align-items:center;gap:12px;padding:8px 12px;border-bottom:1px solid #444}
.mudi-mask-review header h2{font-size:15px;margin:0;flex:1}
.mudi-mask-review .mr-body{overflow:auto;padding:12px}
.mudi-mask-review .mr-subject h3{font-size:14px;margin:8px 0}
.mudi-mask-review .mr-grid{display:flex;flex-wrap:wrap;gap:12px}
.mudi-mask-review .mr-card{background:#2a2b31;border:1px solid #444;border-radius:4px;padding:6px;width:${CARD_SIZE}px}
.mudi-mask-review .mr-card canvas{display:block;cursor:crosshair;touch-action:none;margin:0 auto}
.mudi-mask-review .mr-status{margin-top:4px;word-break:break-word}
.mudi-mask-review .mr-status.failed{color:#f88}
.mudi-mask-review .mr-actions{display:flex;gap:6px;margin-top:4px}
.mudi-mask-review button{background:#3a3b42;color:#eee;border:1px solid #666;border-radius:3px;padding:3px 10px;cursor:pointer}
.mudi-mask-review button:disabled{opacity:.5;cursor:default}
`;

function ensureStyle(): void {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = STYLE_ID;
  style.textContent = STYLE;
  document.head.append(style);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`cannot load ${url}`));
    img.src = url;
  });
}

/** Opens the review for display data {manifest, title} from an AutoMask node. */
export function openMaskReview(data: unknown, options: MaskReviewOptions): MaskReviewHandle {
  ensureStyle();
  const review = data as { manifest?: unknown; title?: unknown } | undefined;
  const manifestName = typeof review?.manifest === "string" ? review.manifest : "";
  const base = options.apiBase || window.location.origin + "/";
  const url = (path: string) => new URL(path, base).toString();
  const viewUrl = (name: string) => url(`api/view?dir=outputs&file=${encodeURIComponent(name)}`);

  const body = el("div", { className: "mr-body" });
  const closeButton = el("button", { textContent: "Close", title: "Close the review (Esc)" });
  const root = el(
    "div",
    { className: "mudi-mask-review" },
    el("header", {}, el("h2", { textContent: `Review masks${typeof review?.title === "string" ? `: ${review.title}` : ""}` }), el("span", { textContent: "Drag a box on a photo to segment it again." }), closeButton),
    body,
  );
  root.setAttribute("role", "dialog");
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") close();
  };
  function close(): void {
    document.removeEventListener("keydown", onKey);
    root.remove();
  }
  closeButton.addEventListener("click", close);
  document.addEventListener("keydown", onKey);
  document.body.append(root);

  const post = async (path: string, payload: unknown) => {
    const res = await fetch(url(path), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new Error(typeof json.error === "string" ? json.error : `${path}: HTTP ${res.status}`);
    return json;
  };

  const ready = (async () => {
    if (!manifestName) throw new Error("this node's review data names no manifest");
    const res = await fetch(url(`api/subjects/review?manifest=${encodeURIComponent(manifestName)}`));
    const manifest = (await res.json()) as ReviewManifest & { error?: string };
    if (!res.ok) throw new Error(manifest.error ?? `HTTP ${res.status}`);
    const cards: Promise<void>[] = [];
    manifest.subjects.forEach((s, si) => {
      const grid = el("div", { className: "mr-grid" });
      body.append(el("section", { className: "mr-subject" }, el("h3", { textContent: `${s.token} ${s.className}`.trim() }), grid));
      s.images.forEach((img, ii) => cards.push(photoCard(grid, si, ii, img)));
    });
    await Promise.all(cards);
  })();
  ready.catch((e: Error) => body.append(el("p", { className: "mr-status failed", textContent: `Cannot open the review: ${e.message}` })));

  async function photoCard(grid: HTMLElement, subject: number, image: number, info: ReviewImage): Promise<void> {
    const scale = Math.min(CARD_SIZE / info.width, CARD_SIZE / info.height, 1);
    const canvas = el("canvas", { width: Math.round(info.width * scale), height: Math.round(info.height * scale) });
    const status = el("div", { className: "mr-status" });
    const accept = el("button", { textContent: "Accept", disabled: true });
    const discard = el("button", { textContent: "Discard", disabled: true });
    const card = el("div", { className: "mr-card" }, canvas, el("div", { textContent: info.file }), status, el("div", { className: "mr-actions" }, accept, discard));
    card.dataset.subject = String(subject);
    card.dataset.image = String(image);
    grid.append(card);

    const photo = await loadImage(viewUrl(info.photo));
    let shownMask = info.mask; // accepted (or original) mask
    let candidate: string | null = null;
    let overlay: HTMLCanvasElement | null = null;
    let dragBox: Box | null = null;
    const ctx = canvas.getContext("2d")!;

    const setStatus = (text: string, failed = false) => {
      status.textContent = text;
      status.classList.toggle("failed", failed);
    };
    const describe = (i: ReviewImage) => `${i.status}${i.reason ? `: ${i.reason}` : ""}${i.savedTo ? ` (saved to ${i.savedTo})` : ""}`;
    setStatus(describe(info), info.status === "failed");

    /**
     * The mask as a tint: blue for the current mask, orange for a candidate not yet accepted.
     * Built once per mask as a canvas, so redrawing while a box is dragged only composites it.
     */
    async function tint(name: string | null, colour: [number, number, number]): Promise<HTMLCanvasElement | null> {
      if (!name) return null;
      const img = await loadImage(viewUrl(name));
      const off = document.createElement("canvas");
      off.width = canvas.width;
      off.height = canvas.height;
      const octx = off.getContext("2d")!;
      octx.drawImage(img, 0, 0, off.width, off.height);
      const d = octx.getImageData(0, 0, off.width, off.height);
      for (let i = 0; i < d.data.length; i += 4) {
        const on = d.data[i]! > 127;
        d.data[i] = colour[0];
        d.data[i + 1] = colour[1];
        d.data[i + 2] = colour[2];
        d.data[i + 3] = on ? 110 : 0;
      }
      octx.putImageData(d, 0, 0);
      return off;
    }
    function draw(): void {
      ctx.drawImage(photo, 0, 0, canvas.width, canvas.height);
      if (overlay) ctx.drawImage(overlay, 0, 0);
      const b = dragBox;
      if (b) {
        ctx.strokeStyle = "#0f0";
        ctx.lineWidth = 2;
        ctx.strokeRect(b.x0 * scale, b.y0 * scale, (b.x1 - b.x0) * scale, (b.y1 - b.y0) * scale);
      }
    }
    async function show(name: string | null, colour: [number, number, number]): Promise<void> {
      overlay = await tint(name, colour);
      card.dataset.mask = name ?? "";
      draw();
    }
    await show(shownMask, [40, 120, 255]);

    // Drawing a box: pointer positions in canvas pixels -> photo pixels.
    let start: { x: number; y: number } | null = null;
    const toPhoto = (e: PointerEvent) => {
      const r = canvas.getBoundingClientRect();
      const x = ((e.clientX - r.left) * (canvas.width / r.width)) / scale;
      const y = ((e.clientY - r.top) * (canvas.height / r.height)) / scale;
      return { x: Math.min(info.width, Math.max(0, x)), y: Math.min(info.height, Math.max(0, y)) };
    };
    canvas.addEventListener("pointerdown", (e) => {
      start = toPhoto(e);
      canvas.setPointerCapture(e.pointerId);
    });
    const boxTo = (from: { x: number; y: number }, e: PointerEvent): Box => {
      const p = toPhoto(e);
      return { x0: Math.min(from.x, p.x), y0: Math.min(from.y, p.y), x1: Math.max(from.x, p.x), y1: Math.max(from.y, p.y) };
    };
    canvas.addEventListener("pointermove", (e) => {
      if (!start) return;
      dragBox = boxTo(start, e);
      draw();
    });
    canvas.addEventListener("pointerup", async (e) => {
      if (!start) return;
      const box = boxTo(start, e);
      start = null;
      if (box.x1 - box.x0 < 2 || box.y1 - box.y0 < 2) {
        dragBox = null;
        draw();
        return;
      }
      dragBox = box;
      setStatus("segmenting…");
      try {
        const answer = await post("api/subjects/review/segment", { manifest: manifestName, subject, image, box });
        candidate = String(answer.mask);
        await show(candidate, [255, 150, 30]);
        setStatus(`new mask (SAM score ${Number(answer.score).toFixed(2)}): accept or discard`);
        accept.disabled = discard.disabled = false;
      } catch (err) {
        setStatus(`segmenting failed: ${(err as Error).message}`, true);
      }
    });
    discard.addEventListener("click", async () => {
      candidate = null;
      dragBox = null;
      accept.disabled = discard.disabled = true;
      await show(shownMask, [40, 120, 255]);
      setStatus(describe(info), info.status === "failed");
    });
    accept.addEventListener("click", async () => {
      if (!candidate) return;
      accept.disabled = discard.disabled = true;
      try {
        const answer = (await post("api/subjects/review/accept", { manifest: manifestName, subject, image, mask: candidate })) as { manifest: ReviewManifest };
        const accepted = answer.manifest.subjects[subject]?.images[image];
        if (!accepted) throw new Error(`the server's manifest has no image ${image} of subject ${subject}`);
        info = accepted;
        shownMask = candidate;
        candidate = null;
        dragBox = null;
        await show(shownMask, [40, 120, 255]);
        card.dataset.status = info.status;
        setStatus(describe(info));
      } catch (err) {
        accept.disabled = discard.disabled = false;
        setStatus(`saving failed: ${(err as Error).message}`, true);
      }
    });
    card.dataset.status = info.status;
  }

  return { element: root, ready, close };
}
