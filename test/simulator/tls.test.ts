import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { DIALECTS, VapiCaller } from './wire.ts';

/** The SHA-1 fingerprint of the certificate the server presents, verified against `ca` (for `servername` if given, else the IP). */
async function peerFingerprint(url: string, ca: string, servername?: string): Promise<string> {
  const u = new URL(url);
  const socket = tls.connect({ host: u.hostname, port: Number(u.port), ca, ...(servername && { servername }) });
  await once(socket, 'secureConnect');
  const fp = socket.getPeerCertificate().fingerprint;
  socket.destroy();
  return fp;
}

describe('HTTPS', () => {
  const sims: Simulator[] = [];
  const agents: Agent[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.close()));
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });

  it.each(DIALECTS)('serves TLS with a self-signed certificate whose thumbprint File.Info reports (/%s)', async (dialect) => {
    const sim = await startSimulator({ tls: true, items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 70_000 }] }] });
    sims.push(sim);
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const certPem = sim.tls!.certPem;
    const thumbprint = sim.tls!.thumbprint;
    expect(thumbprint).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(new X509Certificate(certPem).fingerprint).toBe(thumbprint);
    // The certificate the server presents, by IP and by name.
    expect(await peerFingerprint(sim.url, certPem, 'localhost')).toBe(thumbprint);
    const agent = new Agent({ connect: { ca: certPem } });
    agents.push(agent);
    const c = new VapiCaller(sim.url, dialect, agent);
    expect((await c.login()).status).toBeLessThan(300);
    const { uri, info } = await c.preparedFile(sim.item('disk').id, 'disk.iso');
    expect(uri.startsWith(`${sim.url}/cls/data/`)).toBe(true);
    expect(info.download_endpoint!.ssl_certificate_thumbprint).toBe(thumbprint);
    const d = await c.download(uri);
    expect(d.status).toBe(200);
    expect(d.sha1).toBe(await sim.fileChecksum(sim.item('disk').id, 'disk.iso'));
    // An untrusting client refuses it.
    await expect(request(`${sim.url}/api/session`, { method: 'POST' })).rejects.toThrow(/self-signed|certificate/i);
  });

  it('serves a given certificate and key', async () => {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const sim = await startSimulator({ tls: { cert: pems.cert, key: pems.private } });
    sims.push(sim);
    expect(sim.tls!.certPem).toBe(pems.cert);
    expect(sim.tls!.thumbprint).toBe(new X509Certificate(pems.cert).fingerprint);
    expect(await peerFingerprint(sim.url, pems.cert)).toBe(sim.tls!.thumbprint);
  });
});
