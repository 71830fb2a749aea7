/**
 * Errors the simulator raises to its own caller (a test, the demo, main.ts). Failures a vAPI client
 * must see are VapiErrors (vapi-errors.ts), rendered onto the wire instead.
 */

/** startSimulator() was given options it cannot honour: a bad item spec, an unreadable seed folder. */
export class SimulatorConfigError extends Error {
  readonly code = 'SIM_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulatorConfigError';
  }
}

/** An accessor (item(), fileContent(), fileChecksum()) was asked for an item or file it does not have. */
export class SimulatorLookupError extends Error {
  readonly code = 'SIM_LOOKUP';
  constructor(message: string) {
    super(message);
    this.name = 'SimulatorLookupError';
  }
}

/** Work still pending (a checksum) when stop() was called. */
export class SimulatorStoppedError extends Error {
  readonly code = 'SIM_STOPPED';
  constructor() {
    super('the simulator was stopped');
    this.name = 'SimulatorStoppedError';
  }
}
