// Messages between the extract stage and its worker threads.
export interface ExtractRequest {
  taskId: number;
  repo: string;
  root: string;
  paths: string[];
  maxFileBytes: number;
}

export interface ExtractResponse {
  taskId: number;
  functionLines?: string;
  skippedLines?: string;
  functions?: number;
  skipped?: number;
  bytes?: number;
  error?: string;
}
