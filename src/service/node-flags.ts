/**
 * Node flags a worker process runs with: `npm start` and the Docker image pass them, the bench's
 * worker too, and `test/service/deployment-files.test.ts` keeps those places in step. When you
 * launch `cldl worker` some other way, pass them yourself (or through NODE_OPTIONS).
 *
 * `--max-semi-space-size=1`: V8's young generation in 1 MiB halves instead of growing to 16 MiB
 * and more. Every socket read makes a Buffer whose bytes live outside the JS heap until a scavenge
 * frees its wrapper; with large halves, scavenges come seldom and tens of MiB of received bytes
 * wait for them. Measured by bench/experiments/memory-flags.ts (1 GiB over HTTP, fresh workers):
 * peak RSS 197 → 142 MiB, with the same MB/s and CPU per GB.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
