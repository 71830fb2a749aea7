/**
 * `uri` fit for a log line or an error message: no user info, no query or fragment (a data URL may
 * carry a ticket there), and a bounded length, even when it does not parse.
 */
export function redactUri(uri: string): string {
  let text: string;
  try {
    const url = new URL(uri);
    text = `${url.protocol}//${url.host}${url.pathname}${url.search || url.hash ? '?…' : ''}`;
  } catch {
    text = uri.replace(/\/\/[^/]*@/, '//').replace(/[?#].*$/s, '?…');
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
