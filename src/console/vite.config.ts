// The console is served by `cirrus serve` under /console/, embedded into the binary at build time
// (see console.cmake). Hashed file names let the server cache assets forever and index.html never.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/console/",
  build: {
    target: "es2022",
    // One small app: a single JS and CSS file keeps the embedded table short and the page to
    // three requests. Chart.js is the bulk of it and is tree-shaken to the controllers we use.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
