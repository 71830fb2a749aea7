import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  /** SHA-1 of the DER, colon-separated upper-case hex: vCenter's `ssl_certificate_thumbprint` form. */
  thumbprint: string;
}

/**
 * The server's certificate: the caller's, or a self-signed one made now for 127.0.0.1, ::1,
 * localhost (and the listen host). It is its own CA (basicConstraints cA) so that a test can trust
 * exactly this certificate, the way cldl trusts a vCenter by its thumbprint or CA.
 */
export async function tlsMaterial(given: true | { cert: string; key: string }, host: string): Promise<TlsMaterial> {
  if (given !== true) return { certPem: given.cert, keyPem: given.key, thumbprint: thumbprintOf(given.cert) };
  const altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }> = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ];
  if (isIP(host) && host !== '127.0.0.1' && host !== '::1' && host !== '0.0.0.0' && host !== '::') altNames.push({ type: 7, ip: host });
  else if (!isIP(host) && host !== 'localhost') altNames.push({ type: 2, value: host });
  const pems = await generate([{ name: 'commonName', value: 'cldl-simulator' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private, thumbprint: thumbprintOf(pems.cert) };
}

export function thumbprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint;
}
