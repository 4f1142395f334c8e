// Worker threads cannot load TypeScript on their own under tsx (loader hooks are not inherited on
// Node 20): this plain-JS entry registers tsx inside the thread, then imports the real worker.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
