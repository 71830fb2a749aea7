import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { SimulatorConfigError } from './errors.ts';
import type { ItemDraft } from './libraries.ts';

/**
 * Items from a folder, served from disk without reading them at start: each plain file is an item
 * named after the file without its extension (`ubuntu.iso` → item `ubuntu`, type `iso`); each
 * sub-folder is one item of its plain files (an OVF template: `.ovf`, `.vmdk`, `.mf` → type `ovf`).
 * Hidden entries and deeper folders are skipped; names are sorted so ids appear in a stable order.
 */
export async function readSeedFolder(dir: string): Promise<ItemDraft[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch (err) {
    throw new SimulatorConfigError(`cannot read seed folder ${dir}`, { cause: err });
  }
  const drafts: ItemDraft[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry);
    const s = await stat(full);
    if (s.isFile()) {
      const ext = path.extname(entry);
      drafts.push({
        name: ext && ext !== entry ? entry.slice(0, -ext.length) : entry,
        files: [{ name: entry, source: { kind: 'disk', size: s.size, path: full } }],
      });
    } else if (s.isDirectory()) {
      const files = await plainFiles(full);
      if (files.length > 0) drafts.push({ name: entry, files });
    }
  }
  return drafts;
}

async function plainFiles(dir: string): Promise<ItemDraft['files']> {
  const files: ItemDraft['files'] = [];
  for (const name of (await readdir(dir)).filter((n) => !n.startsWith('.')).sort()) {
    const full = path.join(dir, name);
    const s = await stat(full);
    if (s.isFile()) files.push({ name, source: { kind: 'disk', size: s.size, path: full } });
  }
  return files;
}
