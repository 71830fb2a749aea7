import { DataUnauthorizedError, HttpStatusError, TransferError } from './errors.ts';

// What a data server's answer to a GET means for the part it continues: a 200 starts over, a 206
// must start exactly where the part ends, anything else is an error that says how to go on.

export interface Answer {
  restart: boolean;
  /** The file's full size, when the answer tells it. */
  total: number | undefined;
  /** The last byte a 206 carries. */
  through?: number;
}

export function readAnswer(
  status: number,
  h: Record<string, string | string[] | undefined>,
  from: number,
  fileName: string,
  url: string,
  sent: Record<string, string>,
): Answer {
  const length = header(h, 'content-length');
  if (status === 200) {
    // Either a fresh start, or a server that ignored our Range: both mean byte 0 comes next.
    return { restart: from > 0, total: length === undefined ? undefined : Number(length) };
  }
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(h, 'content-range') ?? '');
    if (!m || Number(m[1]) !== from) {
      throw new TransferError(
        'CLDL_RANGE_MISMATCH',
        `${fileName}: asked for bytes from ${from}, got Content-Range ${JSON.stringify(header(h, 'content-range') ?? null)}`,
        { fileName, retryable: true, restart: true },
      );
    }
    return { restart: false, total: m[3] === '*' ? Number(m[2]) + 1 : Number(m[3]), through: Number(m[2]) };
  }
  if (status === 401) throw new DataUnauthorizedError(fileName, sent);
  if (status === 416) {
    throw new TransferError('CLDL_RANGE_NOT_SATISFIABLE', `${fileName}: the server has no bytes from ${from} on`, {
      fileName,
      retryable: true,
      restart: true,
    });
  }
  throw new HttpStatusError(fileName, status, url);
}

export function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
