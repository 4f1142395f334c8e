// A fixed pool of TypeScript worker threads (booted through worker-boot.mjs) that take one task
// at a time each. Used by the stages that spread CPU work over cores (extract, dedup).
import { Worker, type TransferListItem } from 'node:worker_threads';

export interface PoolTask {
  taskId: number;
}

export interface PoolResult {
  taskId: number;
  /** The worker's error message when the task failed. */
  error?: string;
}

/** A request without its taskId (distributes over unions of request kinds). */
export type TaskOf<Req> = Req extends unknown ? Omit<Req, 'taskId'> : never;

export class WorkerPool<Req extends PoolTask, Res extends PoolResult> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: Res) => void; reject: (e: Error) => void }>();
  private readonly waiting: (() => void)[] = [];
  private nextTaskId = 0;
  private failure: Error | null = null;

  /** `entry` is the worker's .ts module; `label` names it in errors. */
  constructor(entry: URL, size: number, private readonly label: string) {
    const boot = new URL('./worker-boot.mjs', import.meta.url);
    for (let i = 0; i < size; i++) {
      const w = new Worker(boot, { workerData: { entry: entry.href } });
      w.on('message', (res: Res) => {
        const p = this.pending.get(res.taskId);
        this.pending.delete(res.taskId);
        this.release(w);
        if (!p) return;
        if (res.error) p.reject(new Error(`${this.label} worker failed: ${res.error.split('\n')[0]}`));
        else p.resolve(res);
      });
      w.on('error', (err) => {
        this.failure = err;
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        for (const wake of this.waiting.splice(0)) wake();
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.waiting.shift()?.();
  }

  /**
   * Waits for an idle thread (so at most `size` tasks are in flight), then hands out the task and
   * returns its result's promise, wrapped so that awaiting submit() does not wait for the result.
   */
  async submit(task: TaskOf<Req>, transfer?: readonly TransferListItem[]): Promise<{ result: Promise<Res> }> {
    while (this.idle.length === 0 && !this.failure) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    const w = this.idle.pop() as Worker;
    return { result: this.post(w, task, transfer) };
  }

  /** `transfer`: buffers moved to the thread instead of copied (they are detached here afterwards). */
  private post(w: Worker, task: TaskOf<Req>, transfer?: readonly TransferListItem[]): Promise<Res> {
    const taskId = this.nextTaskId++;
    return new Promise<Res>((resolve, reject) => {
      this.pending.set(taskId, { resolve, reject });
      w.postMessage({ ...task, taskId }, transfer);
    });
  }

  /**
   * Runs `task` once on every thread (e.g. to hand each the same setup, such as a table in shared
   * memory), after the tasks in flight have finished; resolves with the results in thread order.
   */
  async broadcast(task: TaskOf<Req>): Promise<Res[]> {
    while (this.idle.length < this.workers.length && !this.failure) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    this.idle.length = 0;
    return Promise.all(this.workers.map((w) => this.post(w, task)));
  }

  /** Runs one task to completion. */
  async run(task: TaskOf<Req>): Promise<Res> {
    return (await this.submit(task)).result;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
