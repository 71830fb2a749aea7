import type { CldlConfig } from './load-config.ts';
import { maskCredentials } from './mask-credentials.ts';

/**
 * Settings that run but weaken security, for the worker to log at start: an operator who turned
 * TLS verification off for a lab, or runs against a plain http simulator, should see it every time
 * rather than discover it later. (A plain http vCenter beyond loopback is refused in the schema
 * unless allowPlainHttp says so, and then warned about here.)
 */
export function configWarnings(config: CldlConfig): string[] {
  const warnings: string[] = [];
  for (const [name, v] of Object.entries(config.vcenters)) {
    if (new URL(v.url).protocol === 'http:') {
      warnings.push(`vCenter ${name} is plain http (${maskCredentials(v.url)}): its login and session token cross in clear text; use https:// beyond a lab`);
    }
    if (v.insecure) {
      warnings.push(
        `vCenter ${name} has TLS verification off (insecure: true): anyone on the path can pose as it and receive its login; pin its certificate with thumbprint or trust its CA with caFile instead`,
      );
    }
  }
  return warnings;
}
