import { SimulatorConfigError } from './errors.ts';
import { generatedSeed } from './generated-content.ts';
import type { FileDraft, ItemDraft } from './libraries.ts';
import type { ItemSpec } from './options.ts';

/** Library drafts from test-given specs: inline bytes where given, generated content otherwise. */
export function draftFromSpec(spec: ItemSpec): ItemDraft {
  if (!spec.name) throw new SimulatorConfigError('an item spec needs a name');
  return {
    id: spec.id,
    name: spec.name,
    type: spec.type,
    subscribed: spec.subscribed,
    cached: spec.cached,
    manifest: spec.manifest,
    files: fileDrafts(spec.name, spec.files, 1),
  };
}

/** The files of an item spec, generated ones seeded for the item's content `generation`. */
export function fileDrafts(itemName: string, files: ItemSpec['files'], generation: number): FileDraft[] {
  if (!Array.isArray(files)) throw new SimulatorConfigError(`item ${itemName}: files must be an array`);
  return files.map((f) => {
    if (f.content !== undefined) {
      const bytes = typeof f.content === 'string' ? Buffer.from(f.content) : Buffer.from(f.content);
      if (bytes.length !== f.size) {
        throw new SimulatorConfigError(`item ${itemName} file ${JSON.stringify(f.name)}: size ${f.size} but content has ${bytes.length} bytes`);
      }
      return { name: f.name, source: { kind: 'inline', size: bytes.length, bytes } };
    }
    if (!Number.isSafeInteger(f.size) || f.size < 0) {
      throw new SimulatorConfigError(`item ${itemName} file ${JSON.stringify(f.name)}: size must be a non-negative integer`);
    }
    return { name: f.name, source: { kind: 'generated', size: f.size, seed: generatedSeed(itemName, f.name, generation) } };
  });
}
