// Search state: the request the view holds (from the permalink or the form), the ranked result the
// search worker returned, and the rows' names for the list. The map reads `search.result` to
// highlight the hits; a newer search supersedes an older one still running.
import { app, writeHash } from './app.svelte.ts';
import { embedQueryJina, hoverInfo, loadJina, runSearch, type EmbedLoadResult, type HoverInfo, type SearchProgress, type SearchResponse } from '../data/data-client.ts';

export interface SearchStore {
  status: 'idle' | 'running' | 'done' | 'error';
  result: SearchResponse | null;
  /** Names of the result rows, in rank order (null where the id is not in the data set). */
  rows: (HoverInfo | null)[];
  error: string | null;
  progress: SearchProgress | null;
  /** The Jina model once loaded: id, device (wasm/webgpu), dtype and why that backend. */
  model: EmbedLoadResult | null;
}

export const search: SearchStore = $state({ status: 'idle', result: null, rows: [], error: null, progress: null, model: null });

let token = 0;

/** Whether the view asks for a search (a query or a neighbours-of id). */
export function hasSearch(): boolean {
  return app.view.search.query.trim() !== '' || app.view.neighboursOf !== null;
}

/** Runs the search `app.view` describes; returns when it (or a newer one) settles. */
export async function searchFromView(): Promise<void> {
  const my = ++token;
  if (!hasSearch()) {
    search.status = 'idle';
    search.result = null;
    search.rows = [];
    search.error = null;
    return;
  }
  const s = app.view.search;
  search.status = 'running';
  search.error = null;
  search.progress = null;
  try {
    let vector: Float32Array | null = null;
    if (s.embedder === 'jina' && app.view.neighboursOf === null) {
      // The query is embedded by the Jina model in the embed worker; the search worker ranks.
      const loaded = await loadJina((p) => {
        if (my === token) search.progress = { phase: 'embedding', done: p.done, total: p.total };
      });
      if (!loaded.ok) throw new Error(`${loaded.message}. Switch the embedder to TF-IDF/SVD, which needs no download.`);
      search.model = loaded;
      vector = await embedQueryJina(s.query);
      if (my !== token) return;
    }
    const result = await runSearch(
      {
        vector,
        query: app.view.neighboursOf === null && !vector ? s.query : null,
        neighboursOf: app.view.neighboursOf,
        embedder: s.embedder,
        metric: s.metric,
        p: s.p,
        k: s.k,
        nprobe: app.view.neighboursOf === null ? s.nprobe : null,
      },
      (p) => {
        if (my === token) search.progress = p;
      },
    );
    if (my !== token) return;
    // Large data sets: the search worker already read the results' names (the panel shows those);
    // asking the data worker again would re-read the same row groups one id at a time.
    const rows = result.rows ? Array.from(result.ids, () => null) : await Promise.all(Array.from(result.ids, (id) => hoverInfo(id)));
    if (my !== token) return;
    search.result = result;
    search.rows = rows;
    search.status = 'done';
  } catch (e) {
    if (my !== token) return;
    search.status = 'error';
    search.result = null;
    search.rows = [];
    search.error = e instanceof Error ? e.message : String(e);
  }
}

/** Starts a text search from the form: updates the view (and so the permalink), then runs it. */
export function submitQuery(query: string): Promise<void> {
  app.view.search.query = query;
  app.view.neighboursOf = null;
  writeHash();
  return searchFromView();
}

/** "Neighbours of this function" (the study's Figure 10): search by a function's own vector. */
export function searchNeighbours(id: number): Promise<void> {
  app.view.search.query = '';
  app.view.neighboursOf = id;
  writeHash();
  return searchFromView();
}

export function clearSearch(): void {
  token++;
  app.view.search.query = '';
  app.view.neighboursOf = null;
  search.status = 'idle';
  search.result = null;
  search.rows = [];
  search.error = null;
  writeHash();
}
