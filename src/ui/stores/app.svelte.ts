// App state shared by the views (Svelte 5 runes). The shareable part of it (`view`) mirrors the
// URL hash: decoded from it on load and on every hashchange, and written back (replaceState, so
// no history entry per camera move) when the UI changes it.
import type { DataError, DataSummary, LoadProgress } from '../data/data-client.ts';
import { decodeViewState, defaultViewState, encodeViewState, type Route, type ViewState } from '../url-state.ts';

export type { Route };

export interface AppState {
  status: 'loading' | 'ready' | 'error';
  progress: LoadProgress | null;
  summary: DataSummary | null;
  error: DataError | null;
  /** Everything a permalink carries. */
  view: ViewState;
  /** Values of the opened link that were refused (shown once, as text). */
  linkWarnings: string[];
  /** What draws the map: deck.gl's device type (webgl/webgpu) and the GPU it reports. */
  renderer: { type: string; detail: string } | null;
}

export const app: AppState = $state({
  status: 'loading',
  progress: null,
  summary: null,
  error: null,
  view: defaultViewState(),
  linkWarnings: [],
  renderer: null,
});

let lastWritten = '';

/** Reads the hash into `app.view` (on load and on hashchange); returns whether anything changed. */
export function readHash(hash: string): boolean {
  if (hash === lastWritten) return false;
  const { state, warnings } = decodeViewState(hash);
  app.view = state;
  app.linkWarnings = warnings;
  lastWritten = encodeViewState(state);
  return true;
}

let writeTimer: ReturnType<typeof setTimeout> | undefined;

/** Writes `app.view` into the hash without a history entry; camera moves are debounced. */
export function writeHash(debounceMs = 0): void {
  clearTimeout(writeTimer);
  const write = () => {
    const hash = encodeViewState(app.view);
    if (hash === lastWritten && location.hash === hash) return;
    lastWritten = hash;
    history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`);
  };
  if (debounceMs > 0) writeTimer = setTimeout(write, debounceMs);
  else write();
}
