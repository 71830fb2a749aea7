import type { Logger } from 'pino';
import type { CldlConfig } from '../config/load-config.ts';
import { MapVCenterRegistry } from '../orchestrator/index.ts';
import { VCenterClient, type VapiCallEvent } from '../vsphere/index.ts';

/** One VCenterClient per configured vCenter; credentials go from the config straight into the client. */
export function buildVCenters(config: CldlConfig, logger: Logger, onCall?: (e: VapiCallEvent) => void): MapVCenterRegistry {
  return new MapVCenterRegistry(
    Object.entries(config.vcenters).map(
      ([name, v]) =>
        new VCenterClient({
          name,
          url: v.url,
          username: v.username,
          password: v.password,
          api: v.api,
          tls: { insecure: v.insecure, ...(v.thumbprint ? { thumbprint: v.thumbprint } : {}), ...(v.ca ? { ca: v.ca } : {}) },
          dataHosts: v.dataHosts,
          verifyEndpointThumbprint: v.verifyEndpointThumbprint,
          connections: v.connections,
          timeouts: v.timeouts,
          retry: v.retry,
          apiSessionKeepAliveMs: v.apiSessionKeepAliveMs,
          maxResponseBytes: v.maxResponseBytes,
          logger: logger.child({ vcenter: name }),
          ...(onCall ? { onCall } : {}),
        }),
    ),
  );
}
