import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { sharedTool } from './shared-tools.ts';

export interface SpecViolation {
  side: 'client' | 'server';
  op: string;
  message: string;
}

export interface SpecReport {
  calls: Record<string, number>;
  violations: SpecViolation[];
}

export interface SpecProxy {
  url: string;
  report(): Promise<SpecReport>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts VMware's spec-checking proxy (../shared/tools/vapi-spec/spec-proxy.mjs) in front of
 * `upstream`. It is the referee between cldl's client and any server: tests assert that their own
 * side produced no violations.
 */
export async function startSpecProxy(upstream: string): Promise<SpecProxy> {
  const script = sharedTool('vapi-spec', 'spec-proxy.mjs');
  if (!script) throw new Error('spec-proxy.mjs not found: expected ../shared/tools/vapi-spec beside the checkout (or set CLDL_SHARED_TOOLS)');
  const child: ChildProcess = spawn(process.execPath, [script, '--upstream', upstream, '--port', '0', '--quiet'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const m = /spec-proxy on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`spec-proxy exited with ${code} before listening: ${out}`)));
    child.once('error', reject);
  });
  return {
    url,
    async report() {
      const res = await fetch(`${url}/__spec/report`);
      return (await res.json()) as SpecReport;
    },
    async reset() {
      await fetch(`${url}/__spec/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
