import { afterEach } from 'vitest';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.ts';
import { type Dialect, VapiCaller } from '../simulator/wire.ts';

export interface StartedSimulator {
  sim: Simulator;
  /** Logged in as the simulator's first user, in the dialect asked for. */
  caller: VapiCaller;
}

export interface SimulatorFixture {
  /** Starts a simulator (options over the fixture's defaults) and logs a caller in to it. */
  start: (options?: SimulatorOptions, dialect?: Dialect) => Promise<StartedSimulator>;
  /** Starts a simulator and nothing else: for tests that count logins or log in as someone else. */
  startBare: (options?: SimulatorOptions) => Promise<Simulator>;
}

/**
 * One simulator per start, each stopped after the test that started it, however the test ends. Call
 * it where `afterEach` may be registered: at the top of a test file or inside a `describe`.
 */
export function useSimulator(defaults: SimulatorOptions = {}): SimulatorFixture {
  const started: Simulator[] = [];

  afterEach(async () => {
    // stop() is idempotent, so a test may also stop one itself.
    await Promise.all(started.splice(0).map((sim) => sim.stop()));
  });

  const startBare = async (options: SimulatorOptions = {}): Promise<Simulator> => {
    const sim = await startSimulator({ ...defaults, ...options });
    started.push(sim);
    return sim;
  };

  return {
    startBare,
    start: async (options = {}, dialect = 'api') => {
      const sim = await startBare(options);
      const caller = new VapiCaller(sim.url, dialect);
      const login = await caller.login(sim.credentials.username, sim.credentials.password);
      if (login.status >= 300) throw new Error(`login to the simulator failed: ${login.status} ${login.text}`);
      return { sim, caller };
    },
  };
}
