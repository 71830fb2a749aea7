/** What `cldl`'s exit status means, for scripts and service managers. */
export const EXIT = {
  ok: 0,
  /** The thing asked for failed: a download failed or was canceled, Redis is unreachable, an unknown id. */
  failure: 1,
  /** Wrong arguments: a short usage was printed. */
  usage: 2,
  /** The configuration is invalid (sysexits' EX_CONFIG). */
  config: 78,
} as const;
