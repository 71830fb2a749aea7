import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whatever the test's working directory. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `../shared/tools` beside the checkout holds vcsim and VMware's spec with its checking proxy.
 * CI clones the repository as a sibling of `shared`, so the same relative path works there.
 */
export const sharedTools = process.env.CLDL_SHARED_TOOLS ?? path.resolve(repoRoot, '../shared/tools');

export function sharedTool(...parts: string[]): string | undefined {
  const p = path.join(sharedTools, ...parts);
  return existsSync(p) ? p : undefined;
}
