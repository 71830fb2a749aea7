/**
 * `scheme://user:password@host` → `scheme://user:***@host`, wherever it appears in `text`: a value
 * that fails validation is echoed in the error (a REDIS_URL with a typo, a vCenter URL with its
 * login in it), and its password must not be. Generous on purpose: a password is rarely
 * percent-encoded as it should be, so everything up to the token's last `@` goes; a false match
 * only hides part of a URL from a message.
 */
export function maskCredentials(text: string): string {
  return text.replace(/\S+@\S*/g, (token) => {
    const at = token.lastIndexOf('@');
    const slashes = token.indexOf('//');
    const userinfo = slashes !== -1 && slashes < at ? slashes + 2 : 0;
    const colon = token.indexOf(':', userinfo);
    return colon === -1 || colon > at ? token : `${token.slice(0, colon + 1)}***${token.slice(at)}`;
  });
}

/** maskCredentials applied to every string inside a value about to be shown. */
export function maskValue(value: unknown): unknown {
  if (typeof value === 'string') return maskCredentials(value);
  if (Array.isArray(value)) return value.map(maskValue);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v)]));
  return value;
}
