// Uploads kept in this browser (IndexedDB `code-atlas-uploads`): the extracted functions, their
// vectors (int8 + scale, as the corpus stores them), the placement, clones and the report, until the
// user deletes them. Nothing here ever leaves the machine; a link naming an upload works only where
// it is stored. A separate `meta` store lists uploads without reading their functions.
import type { ArchiveSkip, FileError, InnerClones, UploadFunction } from '../../../workers/parse.ts';
import type { CorpusClones, UploadReport } from '../../core/upload/report.ts';

export interface StoredPlacement {
  layout: string;
  method: string;
  dims: 2 | 3;
  positions: Float32Array;
  clusters: Int32Array;
  centroidDistance: Float32Array;
}

export interface StepTiming {
  step: string;
  ms: number;
  note?: string;
}

export interface StoredUpload {
  id: string;
  name: string;
  bytes: number;
  createdAt: string;
  /** The data set's manifest URL the upload was embedded and placed against. */
  dataset: string;
  format: string;
  totalEntries: number;
  skipped: ArchiveSkip[];
  warnings: string[];
  fileErrors: FileError[];
  filesByLanguage: Record<string, number>;
  functions: UploadFunction[];
  /** The embedding the map was laid out from, and the upload's vectors in it (stored form). */
  embedding: { model: string; dim: number; codes: Int8Array; scales: Float32Array } | null;
  /** Placements by layout name (the one made at upload time, and any made later). */
  placements: StoredPlacement[];
  inside: InnerClones;
  corpus: CorpusClones | null;
  /** Why corpus clones are missing, when they are. */
  corpusNote: string | null;
  /** Summaries of undocumented functions by function index, or why there are none. */
  summaries: { byIndex: Record<number, string>; note: string | null };
  report: UploadReport;
  timings: StepTiming[];
}

export interface UploadMeta {
  id: string;
  name: string;
  bytes: number;
  createdAt: string;
  functions: number;
  dataset: string;
}

const DB = 'code-atlas-uploads';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('uploads', { keyPath: 'id' });
      req.result.createObjectStore('meta', { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened: uploads cannot be kept in this browser'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB write aborted (out of space?)'));
  });
}

/** A fresh local id: `u-` and 12 random hex digits (fits the permalink's upload field). */
export function newUploadId(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return `u-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

export function metaOf(u: StoredUpload): UploadMeta {
  return { id: u.id, name: u.name, bytes: u.bytes, createdAt: u.createdAt, functions: u.functions.length, dataset: u.dataset };
}

export async function saveUpload(u: StoredUpload): Promise<void> {
  const db = await open();
  try {
    const tx = db.transaction(['uploads', 'meta'], 'readwrite');
    tx.objectStore('uploads').put(u);
    tx.objectStore('meta').put(metaOf(u));
    await done(tx);
  } finally {
    db.close();
  }
}

export async function loadUpload(id: string): Promise<StoredUpload | null> {
  const db = await open();
  try {
    return await new Promise<StoredUpload | null>((resolve, reject) => {
      const req = db.transaction('uploads').objectStore('uploads').get(id);
      req.onsuccess = () => resolve((req.result as StoredUpload | undefined) ?? null);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB read failed'));
    });
  } finally {
    db.close();
  }
}

export async function listUploads(): Promise<UploadMeta[]> {
  const db = await open();
  try {
    const all = await new Promise<UploadMeta[]>((resolve, reject) => {
      const req = db.transaction('meta').objectStore('meta').getAll();
      req.onsuccess = () => resolve(req.result as UploadMeta[]);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB read failed'));
    });
    return all.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  } finally {
    db.close();
  }
}

export async function deleteUpload(id: string): Promise<void> {
  const db = await open();
  try {
    const tx = db.transaction(['uploads', 'meta'], 'readwrite');
    tx.objectStore('uploads').delete(id);
    tx.objectStore('meta').delete(id);
    await done(tx);
  } finally {
    db.close();
  }
}
