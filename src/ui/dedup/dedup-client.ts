// The dedup views' access to the dedup worker. The app calls initDedup once the data worker has
// checked the manifest (with what its manifestInfo() returns); nothing starts until a view asks.
import * as Comlink from 'comlink';
import type { Manifest } from '../../core/data/manifest.ts';
import type {
  DedupApi,
  DedupInfo,
  FunctionCode,
  GroupGraph,
  GroupPage,
  GroupSummary,
  MemberInfo,
  RethresholdProgress,
  RethresholdResult,
  RethresholdScope,
  ShareRow,
  ShareTable,
} from '../../../workers/dedup.ts';

export type { DedupInfo, FunctionCode, GroupGraph, GroupPage, GroupSummary, MemberInfo, RethresholdProgress, RethresholdResult, RethresholdScope, ShareRow, ShareTable };

let remote: Comlink.Remote<DedupApi> | null = null;
let shared: { manifestUrl: string; manifest: Manifest } | null = null;
let opened: Promise<DedupInfo> | null = null;
const waiting: (() => void)[] = [];

/**
 * Hands the dedup views the data set the data worker opened: the manifest's URL and the checked
 * manifest (the data worker's `manifestInfo()`). Cheap: the worker starts on the views' first request.
 */
export function initDedup(manifestUrl: string, manifest: Manifest): void {
  shared = { manifestUrl, manifest };
  for (const w of waiting.splice(0)) w();
}

function api(): Comlink.Remote<DedupApi> {
  if (!remote) {
    const worker = new Worker(new URL('../../../workers/dedup.ts', import.meta.url), { type: 'module', name: 'dedup' });
    remote = Comlink.wrap<DedupApi>(worker);
  }
  return remote;
}

/** Opens the dedup worker on the shared manifest (waits for initDedup); later calls share it. */
export function openDedup(): Promise<DedupInfo> {
  opened ??= (async () => {
    if (!shared) await new Promise<void>((resolve) => waiting.push(resolve));
    const s = shared!;
    // A plain copy: $state proxies and other non-cloneable wrappers do not cross postMessage.
    const manifest = JSON.parse(JSON.stringify(s.manifest)) as Manifest;
    return (await api().open(s.manifestUrl, manifest)) as DedupInfo;
  })();
  opened.catch(() => (opened = null));
  return opened;
}

export async function getGroups(threshold: number, offset = 0, limit = 100): Promise<GroupPage> {
  await openDedup();
  return (await api().groups(threshold, offset, limit)) as GroupPage;
}

export async function getGroup(threshold: number, groupId: number): Promise<GroupSummary> {
  await openDedup();
  return (await api().group(threshold, groupId)) as GroupSummary;
}

export async function getMembers(threshold: number, groupId: number, limit = 500): Promise<MemberInfo[]> {
  await openDedup();
  return (await api().members(threshold, groupId, limit)) as MemberInfo[];
}

export async function getCode(id: number, threshold: number): Promise<FunctionCode> {
  await openDedup();
  return (await api().code(id, threshold)) as FunctionCode;
}

export async function getUniqueShares(): Promise<ShareTable> {
  await openDedup();
  return (await api().uniqueShares()) as ShareTable;
}

export async function getGroupGraph(threshold: number, groupId: number, onProgress?: (p: RethresholdProgress) => void): Promise<GroupGraph> {
  await openDedup();
  return (await api().graph(threshold, groupId, onProgress ? Comlink.proxy(onProgress) : undefined)) as GroupGraph;
}

export async function rethreshold(scope: RethresholdScope, threshold: number, onProgress?: (p: RethresholdProgress) => void): Promise<RethresholdResult> {
  await openDedup();
  const plain = JSON.parse(JSON.stringify(scope)) as RethresholdScope;
  return (await api().rethreshold(plain, threshold, onProgress ? Comlink.proxy(onProgress) : undefined)) as RethresholdResult;
}
