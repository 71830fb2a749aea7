import { formatBytes, formatRate } from '../human-units.ts';
import type { DownloadProgress, DownloadStatus } from '../orchestrator/index.ts';

export { formatBytes, formatRate };

export function formatProgress(p: DownloadProgress): string {
  return `${String(p.percent).padStart(3)}%  ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}  ${formatRate(p.bytesPerSecond)}  files ${p.filesDone}/${p.filesTotal}`;
}

/** `cldl status` for a person. */
export function formatStatus(s: DownloadStatus): string {
  const lines = [
    `download   ${s.id}`,
    `state      ${s.state}${s.cancelRequested && s.state !== 'canceled' ? ' (cancel requested)' : ''}`,
    `item       ${s.request.libraryItemId} on vCenter ${s.request.vcenter}`,
    `destination ${s.request.destination}${s.request.files ? `  files: ${s.request.files.join(', ')}` : ''}${s.request.overwrite ? '  (overwrite)' : ''}`,
    `progress   ${formatProgress(s.progress)}`,
    `attempt    ${s.attempt}${s.worker ? `  on ${s.worker}` : ''}`,
    `session    ${s.sessionId ?? '-'}`,
    `created    ${s.createdAt}${s.finishedAt ? `  finished ${s.finishedAt}` : ''}`,
  ];
  if (s.lastError) lines.push(`last error ${s.lastError}`);
  if (s.result) {
    lines.push(`result     ${formatBytes(s.result.totalBytes)} in ${(s.result.durationMs / 1000).toFixed(1)} s`);
    for (const f of s.result.files) lines.push(`  ${f.name}  ${formatBytes(f.size)}  ${f.checksumAlgorithm} ${f.checksum}${f.verified ? '  verified' : '  (no checksum to verify against)'}`);
  }
  return lines.join('\n');
}
