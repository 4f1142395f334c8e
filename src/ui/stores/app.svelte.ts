// App state shared by the views (Svelte 5 runes).
import type { DataError, DataSummary, LoadProgress } from '../data/data-client.ts';

export type Route = 'map' | 'stats';

export interface AppState {
  status: 'loading' | 'ready' | 'error';
  progress: LoadProgress | null;
  summary: DataSummary | null;
  error: DataError | null;
  route: Route;
  /** What draws the map: deck.gl's device type (webgl/webgpu) and the GPU it reports. */
  renderer: { type: string; detail: string } | null;
}

export const app: AppState = $state({
  status: 'loading',
  progress: null,
  summary: null,
  error: null,
  route: 'map',
  renderer: null,
});

export function routeFromHash(hash: string): Route {
  return hash.replace(/^#\/?/, '').split(/[/?]/)[0] === 'stats' ? 'stats' : 'map';
}
