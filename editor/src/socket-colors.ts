// One colour per socket type, used for slots and links. Types ComfyUI users know keep
// ComfyUI's colours, MuDI's own common types have hand-picked distinct ones (hashed hues can
// land a degree apart: SUBJECTS and SEGMENTER did), and every other type gets a stable hue
// from its name, so a new socket type needs no editor change.
const familiar: Record<string, string> = {
  IMAGE: "#64B5F6",
  MASK: "#81C784",
  LATENT: "#FF9CF9",
  CONDITIONING: "#FFA931",
  PIPELINE: "#B39DDB",
  LORA: "#FF6E6E",
  STRING: "#A5D6A7",
  SUBJECT: "#4DD0E1",
  SUBJECTS: "#26A69A",
  DETECTOR: "#FFD54F",
  SEGMENTER: "#A1887F",
  EMBEDDER: "#90A4AE",
  LATENT_INIT: "#CE93D8",
  BOXES: "#DCE775",
};

export function socketColor(type: string): string {
  const known = familiar[type];
  if (known) return known;
  let hash = 0;
  for (const ch of type) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360}, 55%, 62%)`;
}
