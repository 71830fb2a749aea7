import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { nodeFlagsInEffect, nodeFlagsToAdd, WORKER_NODE_FLAGS, workerNodeFlags } from '../../src/service/node-flags.ts';

describe('workerNodeFlags', () => {
  it('is ours unless CLDL_NODE_FLAGS is set; set empty or blank, none', () => {
    expect(workerNodeFlags({})).toBe(WORKER_NODE_FLAGS);
    expect(workerNodeFlags({ CLDL_NODE_FLAGS: '' })).toEqual([]);
    expect(workerNodeFlags({ CLDL_NODE_FLAGS: '  ' })).toEqual([]);
    expect(workerNodeFlags({ CLDL_NODE_FLAGS: ' --max-semi-space-size=2  --expose-gc ' })).toEqual(['--max-semi-space-size=2', '--expose-gc']);
  });

  it.each(['app.js', '-e', '--', '--=1'])('refuses %j, which would change what Node runs', (word) => {
    expect(() => workerNodeFlags({ CLDL_NODE_FLAGS: `--expose-gc ${word}` })).toThrow(ConfigError);
  });
});

describe('nodeFlagsToAdd', () => {
  it('adds what Node was not given, from its command line or NODE_OPTIONS, under any value or spelling', () => {
    const wanted = ['--max-semi-space-size=1', '--max-old-space-size=512'];
    expect(nodeFlagsToAdd(wanted, nodeFlagsInEffect([], ''))).toEqual(wanted);
    expect(nodeFlagsToAdd(wanted, nodeFlagsInEffect(['--max-semi-space-size=1'], ''))).toEqual(['--max-old-space-size=512']);
    expect(nodeFlagsToAdd(wanted, nodeFlagsInEffect([], ' --max_semi_space_size=4  --max-old-space-size=64'))).toEqual([]);
    expect(nodeFlagsToAdd(wanted, nodeFlagsInEffect(['--max-semi-space-size-extra=1'], '--import=x'))).toEqual(wanted);
  });
});
