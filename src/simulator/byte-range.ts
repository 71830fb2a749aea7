/**
 * The Range header forms a resuming client sends (RFC 9110 §14.1.2): `bytes=N-`, `bytes=N-M` and
 * the suffix form `bytes=-S`. Several ranges, other units and malformed values are ignored (the
 * whole body, 200), which the RFC allows; a range starting past the end is unsatisfiable (416).
 */
export type RangeRequest = { kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'range'; start: number; end: number };

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'none' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    // No byte of an empty file can be selected, so every range of it is unsatisfiable.
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  // `bytes=5-2` is invalid, so ignored; `bytes=N-` with N at or past the end selects nothing.
  if (last < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(last, size - 1) + 1 };
}
