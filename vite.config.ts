import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { cspPlugin } from './scripts/vite-csp.ts';

// COOP/COEP make the page cross-origin isolated (SharedArrayBuffer, WASM threads). Static hosts
// that should serve the built site the same way need these two headers (see README).
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  base: './',
  // cspPlugin: the Content-Security-Policy as a <meta> in the built index.html (scripts/vite-csp.ts).
  plugins: [svelte(), cspPlugin()],
  worker: { format: 'es' },
  optimizeDeps: {
    include: ['comlink', '@deck.gl/core', '@deck.gl/layers', 'hyparquet', 'hyparquet-compressors', 'apache-arrow'],
    exclude: ['@duckdb/duckdb-wasm', 'web-tree-sitter'],
  },
  server: { headers: isolationHeaders },
  // The CSP headers come from cspPlugin's preview middleware (one file gets a looser policy).
  preview: { headers: { ...isolationHeaders } },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
