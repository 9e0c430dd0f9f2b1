// Escaping text for HTML and SVG (the report page, the annotated image, the grid picture).
const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeMarkup(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
