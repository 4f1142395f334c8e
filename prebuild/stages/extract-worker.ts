// One extraction thread: reads files of one repository, decodes them, runs the Python extractor and
// returns JSON lines ready to append to the repository's part file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { decodeSourceFile } from '../../src/core/extract/source-file.ts';
import { loadPythonExtractor } from '../grammars.ts';
import type { ExtractRequest, ExtractResponse } from './extract-protocol.ts';

const port = parentPort;
if (!port) throw new Error('extract-worker must run in a worker thread');

const extractorPromise = loadPythonExtractor();

port.on('message', (req: ExtractRequest) => {
  void handle(req).then(
    (res) => port.postMessage(res),
    (err: unknown) => port.postMessage({ taskId: req.taskId, error: String((err as Error)?.stack ?? err) } satisfies ExtractResponse),
  );
});

async function handle(req: ExtractRequest): Promise<ExtractResponse> {
  const extractor = await extractorPromise;
  let functionLines = '';
  let skippedLines = '';
  let functions = 0;
  let skipped = 0;
  let bytes = 0;
  for (const path of req.paths) {
    let data: Uint8Array;
    try {
      data = await readFile(join(req.root, path));
    } catch (err) {
      skipped++;
      skippedLines += `${JSON.stringify({ repo: req.repo, path, reason: 'unreadable', detail: (err as Error).message })}\n`;
      continue;
    }
    bytes += data.length;
    const decoded = decodeSourceFile(data, { maxBytes: req.maxFileBytes });
    if (!decoded.ok) {
      skipped++;
      skippedLines += `${JSON.stringify({ repo: req.repo, path, reason: decoded.reason, detail: decoded.detail })}\n`;
      continue;
    }
    const result = extractor.extract(decoded.text);
    if (result.error) {
      skipped++;
      const detail = `line ${result.error.line}: ${result.error.message}`;
      skippedLines += `${JSON.stringify({ repo: req.repo, path, reason: 'syntax-error', detail })}\n`;
      continue;
    }
    for (const fn of result.functions) {
      functions++;
      functionLines += `${JSON.stringify({ repo: req.repo, path, ...fn })}\n`;
    }
  }
  return { taskId: req.taskId, functionLines, skippedLines, functions, skipped, bytes };
}
