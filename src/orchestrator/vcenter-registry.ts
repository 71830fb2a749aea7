import type { VCenterClient } from '../vsphere/index.ts';

/** The configured vCenters by name: what a job needs to reach the one its request names. */
export interface VCenterRegistry {
  get(name: string): VCenterClient | undefined;
  names(): readonly string[];
}

/** A registry over ready clients (the service builds them from configuration). */
export class MapVCenterRegistry implements VCenterRegistry {
  readonly #clients: ReadonlyMap<string, VCenterClient>;

  constructor(clients: Iterable<VCenterClient>) {
    this.#clients = new Map([...clients].map((c) => [c.name, c]));
  }

  get(name: string): VCenterClient | undefined {
    return this.#clients.get(name);
  }

  names(): readonly string[] {
    return [...this.#clients.keys()];
  }

  /** Logs out of every vCenter. */
  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
  }
}
