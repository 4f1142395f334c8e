// The current upload on the map: which upload the permalink names (`upload=<id>`), its placement on
// the layout the map shows (made on demand when the upload was placed on another one), and the deck.gl
// layer that draws its functions highlighted over the corpus. MapView calls `syncUploadMap` when the
// link or the layout changes and adds `uploadLayer(...)` to its layers; everything else lives here.
import { ScatterplotLayer } from '@deck.gl/layers';
import type { PickingInfo } from '@deck.gl/core';
import { loadUpload, saveUpload, type StoredPlacement, type StoredUpload } from './upload-store.ts';
import { placeOn } from './upload-client.ts';

export const UPLOAD_COLOR: [number, number, number] = [230, 60, 20];

export interface UploadMapState {
  id: string | null;
  upload: StoredUpload | null;
  placement: StoredPlacement | null;
  status: 'none' | 'loading' | 'ready' | 'missing' | 'error';
  error: string | null;
  /** Index of the upload function whose panel is open. */
  selected: number | null;
}

class UploadMap implements UploadMapState {
  id = $state<string | null>(null);
  // Raw: an upload holds thousands of functions and typed arrays; it is replaced, never mutated in place.
  upload = $state.raw<StoredUpload | null>(null);
  placement = $state.raw<StoredPlacement | null>(null);
  status = $state<UploadMapState['status']>('none');
  error = $state<string | null>(null);
  selected = $state<number | null>(null);
}

export const uploadMap: UploadMapState = new UploadMap();

let token = 0;

/** Loads the upload `id` (from IndexedDB) and its placement on `layout`; `onChange` redraws the map. */
export async function syncUploadMap(id: string | null, layout: string, onChange: () => void): Promise<void> {
  const my = ++token;
  if (!id) {
    Object.assign(uploadMap, { id: null, upload: null, placement: null, status: 'none', error: null, selected: null });
    onChange();
    return;
  }
  if (uploadMap.id !== id) Object.assign(uploadMap, { id, upload: null, placement: null, status: 'loading', error: null, selected: null });
  try {
    const u = uploadMap.upload?.id === id ? uploadMap.upload : await loadUpload(id);
    if (my !== token) return;
    if (!u) {
      Object.assign(uploadMap, { upload: null, placement: null, status: 'missing', error: 'this upload is stored only on the machine that made it' });
      onChange();
      return;
    }
    uploadMap.upload = u;
    let p = u.placements.find((x) => x.layout === layout) ?? null;
    if (!p) {
      uploadMap.status = 'loading';
      p = await placeOn(u, layout);
      if (my !== token) return;
      const next: StoredUpload = { ...u, placements: [...u.placements, p] };
      uploadMap.upload = next;
      // Kept, so the next visit to this layout draws at once.
      void saveUpload(next).catch(() => {});
    }
    uploadMap.placement = p;
    uploadMap.status = 'ready';
    uploadMap.error = null;
  } catch (e) {
    if (my !== token) return;
    uploadMap.placement = null;
    uploadMap.status = 'error';
    uploadMap.error = e instanceof Error ? e.message : String(e);
  }
  onChange();
}

/** The upload's points as a layer over the corpus (2-D: x, y of a 3-D placement), or null. */
export function uploadLayer(threeD: boolean, onPick: (index: number) => void): ScatterplotLayer | null {
  const p = uploadMap.placement;
  if (!p || uploadMap.status !== 'ready') return null;
  const n = p.positions.length / p.dims;
  const d = threeD && p.dims === 3 ? 3 : 2;
  const value = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) value[i * d + j] = p.positions[i * p.dims + j]!;
  const selected = uploadMap.selected;
  return new ScatterplotLayer({
    id: `upload-${uploadMap.id}-${d}`,
    data: { length: n, attributes: { getPosition: { value, size: d } } },
    radiusUnits: 'pixels',
    getRadius: 4.5,
    billboard: d === 3,
    filled: true,
    getFillColor: [...UPLOAD_COLOR, 235],
    stroked: true,
    getLineColor: (_: unknown, info: { index: number }) => (info.index === selected ? [20, 20, 20, 255] : [255, 255, 255, 255]),
    updateTriggers: { getLineColor: selected },
    lineWidthUnits: 'pixels',
    getLineWidth: 1.2,
    pickable: true,
    autoHighlight: true,
    highlightColor: [20, 20, 20, 255],
    parameters: { depthCompare: 'always' },
    onClick: (info: PickingInfo) => {
      if (info.index >= 0) onPick(info.index);
      return true;
    },
  });
}
