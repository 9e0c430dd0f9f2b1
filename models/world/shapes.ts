// Shapes of the toy world as signed distance functions in a creature's local units (negative
// inside). Coverage of a pixel is clamp(0.5 - distance in pixels): a one-pixel anti-aliased edge
// with no supersampling, which keeps rendering cheap enough for tens of thousands of scenes.

export type Shape =
  | { readonly kind: "ellipse"; readonly cx: number; readonly cy: number; readonly rx: number; readonly ry: number; readonly rot?: number; readonly cos?: number; readonly sin?: number }
  | { readonly kind: "box"; readonly cx: number; readonly cy: number; readonly hw: number; readonly hh: number; readonly r?: number; readonly rot?: number; readonly cos?: number; readonly sin?: number }
  | { readonly kind: "capsule"; readonly ax: number; readonly ay: number; readonly bx: number; readonly by: number; readonly r: number }
  | { readonly kind: "polygon"; readonly pts: readonly number[] };

// Rotated shapes carry their cosine and sine: distances are evaluated per pixel.
export const ellipse = (cx: number, cy: number, rx: number, ry: number, rot = 0): Shape => ({ kind: "ellipse", cx, cy, rx, ry, rot, cos: Math.cos(rot), sin: Math.sin(rot) });
export const circle = (cx: number, cy: number, r: number): Shape => ({ kind: "ellipse", cx, cy, rx: r, ry: r });
export const box = (cx: number, cy: number, hw: number, hh: number, r = 0, rot = 0): Shape => ({ kind: "box", cx, cy, hw, hh, r, rot, cos: Math.cos(rot), sin: Math.sin(rot) });
export const capsule = (ax: number, ay: number, bx: number, by: number, r: number): Shape => ({ kind: "capsule", ax, ay, bx, by, r });
export const polygon = (...pts: number[]): Shape => ({ kind: "polygon", pts });

// Math.hypot is several times slower than this in V8, and this runs per pixel per shape.
const len = (x: number, y: number) => Math.sqrt(x * x + y * y);

/** (x, y) in the shape's frame: translated to its centre and unrotated. */
function toFrame(x: number, y: number, shape: { cx: number; cy: number; rot?: number; cos?: number; sin?: number }): [number, number] {
  const dx = x - shape.cx;
  const dy = y - shape.cy;
  if (!shape.rot) return [dx, dy];
  const c = shape.cos ?? Math.cos(shape.rot);
  const s = shape.sin ?? Math.sin(shape.rot);
  return [c * dx + s * dy, -s * dx + c * dy];
}

/** Signed distance from (x, y) to the shape's edge, local units. Ellipses use the first-order approximation |f|/|grad f|, exact on the edge. */
export function signedDistance(shape: Shape, x: number, y: number): number {
  switch (shape.kind) {
    case "ellipse": {
      const [px, py] = toFrame(x, y, shape);
      if (shape.rx === shape.ry) return len(px, py) - shape.rx;
      const k0 = len(px / shape.rx, py / shape.ry);
      const k1 = len(px / (shape.rx * shape.rx), py / (shape.ry * shape.ry));
      return k1 === 0 ? -Math.min(shape.rx, shape.ry) : (k0 * (k0 - 1)) / k1;
    }
    case "box": {
      const [px, py] = toFrame(x, y, shape);
      const r = shape.r ?? 0;
      const qx = Math.abs(px) - shape.hw + r;
      const qy = Math.abs(py) - shape.hh + r;
      return len(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
    }
    case "capsule": {
      const pax = x - shape.ax;
      const pay = y - shape.ay;
      const bax = shape.bx - shape.ax;
      const bay = shape.by - shape.ay;
      const len2 = bax * bax + bay * bay;
      const h = len2 === 0 ? 0 : Math.min(1, Math.max(0, (pax * bax + pay * bay) / len2));
      return len(pax - bax * h, pay - bay * h) - shape.r;
    }
    case "polygon": {
      // Distance to the nearest edge, signed by the even-odd rule.
      const p = shape.pts;
      const n = p.length / 2;
      let d = Infinity;
      let inside = false;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const xi = p[2 * i]!, yi = p[2 * i + 1]!, xj = p[2 * j]!, yj = p[2 * j + 1]!;
        const ex = xj - xi, ey = yj - yi;
        const wx = x - xi, wy = y - yi;
        const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
        d = Math.min(d, len(wx - ex * t, wy - ey * t));
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside ? -d : d;
    }
  }
}

/** Axis-aligned bounds [x0, y0, x1, y1] in local units (conservative for rotated shapes). */
export function shapeBounds(shape: Shape): [number, number, number, number] {
  switch (shape.kind) {
    case "ellipse": {
      const r = shape.rot ? Math.max(shape.rx, shape.ry) : 0;
      const hx = shape.rot ? r : shape.rx;
      const hy = shape.rot ? r : shape.ry;
      return [shape.cx - hx, shape.cy - hy, shape.cx + hx, shape.cy + hy];
    }
    case "box": {
      const r = shape.rot ? len(shape.hw, shape.hh) : 0;
      const hx = shape.rot ? r : shape.hw;
      const hy = shape.rot ? r : shape.hh;
      return [shape.cx - hx, shape.cy - hy, shape.cx + hx, shape.cy + hy];
    }
    case "capsule":
      return [Math.min(shape.ax, shape.bx) - shape.r, Math.min(shape.ay, shape.by) - shape.r, Math.max(shape.ax, shape.bx) + shape.r, Math.max(shape.ay, shape.by) + shape.r];
    case "polygon": {
      const xs = shape.pts.filter((_, i) => i % 2 === 0);
      const ys = shape.pts.filter((_, i) => i % 2 === 1);
      return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    }
  }
}
