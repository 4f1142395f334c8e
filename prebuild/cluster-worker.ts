// One clustering thread (see cluster-parallel.ts): the core's silhouette chunk handler and its
// nearest-centre labeller for mini-batch k-means.
import { parentPort } from 'node:worker_threads';
import { createNearestWorkerHandler } from '../src/core/cluster/kmeans.ts';
import { createSilhouetteWorkerHandler, type SilhouetteWorkerRequest } from '../src/core/cluster/silhouette.ts';
import type { NearestMessage, NearestReply } from './cluster-parallel.ts';

const port = parentPort;
if (!port) throw new Error('cluster-worker must run in a worker thread');
const silhouette = createSilhouetteWorkerHandler();
const nearest = createNearestWorkerHandler();

function onNearest(msg: NearestMessage): NearestReply {
  try {
    if (msg.type === 'nearest-begin') {
      nearest.begin(new Float32Array(msg.data), msg.n, msg.d);
      return { type: 'ok' };
    }
    if (msg.type === 'nearest-end') {
      nearest.end();
      return { type: 'ok' };
    }
    const r = nearest.label(msg.q);
    return { type: 'labels', lab: r.lab, best: r.best };
  } catch (err) {
    return { type: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}

port.on('message', (msg: SilhouetteWorkerRequest | NearestMessage) => {
  if (msg.type.startsWith('nearest-')) {
    const reply = onNearest(msg as NearestMessage);
    port.postMessage(reply, reply.type === 'labels' ? [reply.lab.buffer as ArrayBuffer, reply.best.buffer as ArrayBuffer] : []);
    return;
  }
  const reply = silhouette(msg as SilhouetteWorkerRequest);
  port.postMessage(reply, reply.type === 'sums' ? reply.sums.map((s) => s.buffer as ArrayBuffer) : []);
});
