import type { Dispatcher } from 'undici';

/**
 * A response body as text, or `undefined` when it is longer than `limitBytes`: then the body is
 * destroyed (its connection closed) at the first byte past the cap, or before any byte when its
 * Content-Length already says so. A vAPI answer is JSON of a few KiB; reading a hostile or broken
 * 256 MiB one whole took a worker from 108 to 1145 MiB RSS.
 */
export async function readCapped(res: Dispatcher.ResponseData, limitBytes: number): Promise<string | undefined> {
  const declared = Number(res.headers['content-length']);
  if (declared > limitBytes) {
    res.body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) {
      res.body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  // TextDecoder drops a BOM, as undici's text() does.
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}
