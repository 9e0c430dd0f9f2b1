// Socket colours: the types ComfyUI users know keep ComfyUI's link colours; every other type
// gets a stable colour of its own without editor changes.
import { describe, expect, it } from "vitest";
import { socketColor } from "../../editor/src/socket-colors.js";

describe("socket colours", () => {
  it("matches ComfyUI's default link colours for the shared types", () => {
    // ComfyUI's default (dark) palette: IMAGE, MASK, LATENT, CONDITIONING.
    expect(socketColor("IMAGE").toLowerCase()).toBe("#64b5f6");
    expect(socketColor("MASK").toLowerCase()).toBe("#81c784");
    expect(socketColor("LATENT").toLowerCase()).toBe("#ff9cf9");
    expect(socketColor("CONDITIONING").toLowerCase()).toBe("#ffa931");
  });

  it("gives MuDI's socket types distinct colours", () => {
    const types = ["IMAGE", "MASK", "LATENT", "CONDITIONING", "PIPELINE", "LORA", "STRING", "SUBJECT", "SUBJECTS", "DETECTOR", "SEGMENTER", "EMBEDDER", "LATENT_INIT", "BOXES", "JSON", "SCORES"];
    expect(new Set(types.map((t) => socketColor(t).toLowerCase())).size).toBe(types.length);
  });

  it("gives a new type a stable colour from its name", () => {
    expect(socketColor("MY_NEW_TYPE")).toBe(socketColor("MY_NEW_TYPE"));
    expect(socketColor("MY_NEW_TYPE")).toMatch(/^hsl\(\d{1,3}, 55%, 62%\)$/);
    expect(socketColor("MY_NEW_TYPE")).not.toBe(socketColor("MY_OTHER_TYPE"));
  });
});
