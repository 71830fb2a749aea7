// Prints vitest's counts from its JSON report as one line, "N passed, N failed". A file that failed
// to load and a skipped test both count as failed: CI must not report them as passing.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2];
if (!existsSync(file)) {
  console.error('ci: no test report: the type-check or lint step failed before the tests ran');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const brokenFiles = r.testResults.filter((f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'));
for (const f of brokenFiles) console.error(`ci: ${f.name} failed outside its tests: ${(f.message ?? '').split('\n')[0]}`);
const skipped = r.numPendingTests + r.numTodoTests;
if (skipped > 0) console.error(`ci: ${skipped} test(s) skipped, counted as failed`);
const failed = r.numFailedTests + brokenFiles.length + skipped;
console.log(`${r.numPassedTests} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
