// Builds the browser editor: `npx vite build --config editor/vite.config.ts` -> editor/dist,
// which the runtime serves at /. `npx vite --config editor/vite.config.ts` serves it for
// development and forwards the API to a runtime on :8188.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
const runtime = process.env.MUDI_URL ?? "http://127.0.0.1:8188";

export default defineConfig({
  root,
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      // litegraph evaluates arithmetic typed into number widgets ("2*8"); that eval is theirs.
      onwarn(warning, warn) {
        if (warning.code !== "EVAL") warn(warning);
      },
    },
  },
  server: {
    proxy: {
      "/api": runtime,
      "/ws": { target: runtime.replace(/^http/, "ws"), ws: true },
    },
  },
});
