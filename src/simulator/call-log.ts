import { OPERATION_NAMES, type OperationName } from './operation-names.ts';

/** One GET (or HEAD) of a download endpoint, as inspect() reports it. */
export interface DataRequestRecord {
  at: number;
  session: string;
  file: string;
  /** The Range header as sent, or null. */
  range: string | null;
  /** 0 until the status line is decided. */
  status: number;
  bytesSent: number;
  /** The response is over (finished or cut). */
  ended: boolean;
  /** Its whole body went out. */
  complete: boolean;
}

/** Calls per operation (counted on arrival, before faults and auth) and the data requests. */
export class CallLog {
  readonly calls = Object.fromEntries(OPERATION_NAMES.map((op) => [op, 0])) as Record<OperationName, number>;
  readonly dataRequests: DataRequestRecord[] = [];
  /** HEADs, which move no data: kept apart so the records stay as they were. */
  readonly #heads = new WeakSet<DataRequestRecord>();

  count(op: OperationName): void {
    this.calls[op]++;
  }

  dataRequest(method: string | undefined, session: string, file: string, range: string | undefined): DataRequestRecord {
    const record: DataRequestRecord = { at: Date.now(), session, file, range: range ?? null, status: 0, bytesSent: 0, ended: false, complete: false };
    this.dataRequests.push(record);
    if (method === 'HEAD') this.#heads.add(record);
    return record;
  }

  isHead(record: DataRequestRecord): boolean {
    return this.#heads.has(record);
  }
}
