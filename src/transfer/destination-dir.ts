import path from 'node:path';
import { exists } from './atomic-commit.ts';
import { DestinationExistsError } from './errors.ts';
import { assertSafeFileName, destinationProblem, fileNameProblem, prepareDestinationDir } from './safe-path.ts';

/** Where one file of a download lives: its final name, and the part its bytes grow in. */
export interface FilePaths {
  finalPath: string;
  partPath: string;
}

/**
 * A download's destination directory, created under the download root and checked to stay
 * inside it. It owns the rules for the names in it: which file names are acceptable, where a
 * file's part goes, and whether a final name is free.
 */
export class DestinationDir {
  readonly path: string;

  private constructor(dir: string) {
    this.path = dir;
  }

  /** What is wrong with a destination from a request (undefined when nothing is); no disk access. */
  static problem(destination: string): string | undefined {
    return destinationProblem(destination);
  }

  /** What is wrong with a file name as one plain path segment (undefined when nothing is). */
  static fileNameProblem(name: string): string | undefined {
    return fileNameProblem(name);
  }

  /** Creates `destination` under `root`, refusing one that leads outside it. */
  static async open(root: string, destination: string): Promise<DestinationDir> {
    return new DestinationDir(await prepareDestinationDir(root, destination));
  }

  /** The paths of `name`, a file name from the server (refused unless it is one plain segment). */
  file(name: string): FilePaths {
    assertSafeFileName(name);
    const finalPath = path.join(this.path, name);
    return { finalPath, partPath: `${finalPath}.part` };
  }

  /** Whether the file or its part is on disk. */
  has(filePath: string): Promise<boolean> {
    return exists(filePath);
  }

  /** Throws DestinationExistsError when `name` exists and may not be replaced. */
  async assertFree(name: string, overwrite: boolean): Promise<void> {
    const { finalPath } = this.file(name);
    if (!overwrite && (await exists(finalPath))) throw new DestinationExistsError(finalPath);
  }
}
