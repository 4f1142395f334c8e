// One k-NN thread of the summaries stage: builds an IVF BatchIndex, or searches query batches on the
// index it was given (shared memory). See summaries-protocol.ts.
import { parentPort } from 'node:worker_threads';
import type { SummKnnRequest, SummKnnResponse } from './summaries-protocol.ts';
import { BatchSearcher, buildIvfBatchIndex } from './summaries-knn.ts';

const port = parentPort;
if (!port) throw new Error('summaries-worker must run in a worker thread');

let searcher: BatchSearcher | null = null;

async function dispatch(req: SummKnnRequest): Promise<SummKnnResponse> {
  if (req.kind === 'build') {
    const index = buildIvfBatchIndex({ kind: 'int8', ids: req.ids, codes: req.codes, scales: req.scales, dim: req.dim }, req.nlist, req.nprobe, { seed: req.seed });
    return { taskId: req.taskId, index };
  }
  if (req.kind === 'init') {
    searcher = new BatchSearcher(req.index);
    return { taskId: req.taskId };
  }
  if (!searcher) throw new Error('summaries-worker: search before init');
  return { taskId: req.taskId, results: await searcher.searchPacked(req.queries, req.m, req.k) };
}

port.on('message', (req: SummKnnRequest) => {
  void dispatch(req).then(
    (res) => {
      const transfer: ArrayBuffer[] = [];
      if (res.results) transfer.push(res.results.ids.buffer as ArrayBuffer, res.results.distances.buffer as ArrayBuffer, res.results.counts.buffer as ArrayBuffer);
      if (res.index) {
        for (const a of [res.index.offsets, res.index.ids, res.index.codes, res.index.scales, res.index.ivf?.centroids]) {
          if (a && !(a.buffer instanceof SharedArrayBuffer) && !transfer.includes(a.buffer as ArrayBuffer)) transfer.push(a.buffer as ArrayBuffer);
        }
      }
      port.postMessage(res, transfer);
    },
    (err: unknown) => port.postMessage({ taskId: req.taskId, error: String((err as Error)?.stack ?? err) } satisfies SummKnnResponse),
  );
});
