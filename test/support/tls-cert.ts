import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

export interface TestCertificate {
  cert: string;
  key: string;
  /** SHA-1 thumbprint, `AB:CD:…`. */
  thumbprint: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost, as a lab vCenter or ESXi host has. */
export async function selfSignedCertificate(): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private, thumbprint: new X509Certificate(pems.cert).fingerprint };
}
