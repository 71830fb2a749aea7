import { z } from 'zod';
import { DestinationDir } from '../transfer/index.ts';
import { InvalidRequestError } from './errors.ts';

/** What another service asks cldl to download. Credentials never travel here: they are the daemon's. */
export interface DownloadRequest {
  /** A configured vCenter's name. */
  vcenter: string;
  libraryItemId: string;
  /** A directory relative to the download root. */
  destination: string;
  /** A subset of the item's files; all of them when absent. */
  files?: string[] | undefined;
  /** Replace files that already exist at the destination. */
  overwrite: boolean;
  /** A cap on this download's bytes per second (shared with its `bandwidthGroup`, over every worker). */
  maxBytesPerSecond?: number | undefined;
  /** Downloads that share one `maxBytesPerSecond` budget (a mirror run's items do). */
  bandwidthGroup?: string | undefined;
}

// eslint-disable-next-line no-control-regex
export const PRINTABLE = /^[^\x00-\x1f\x7f]+$/;

/** The fields every request cldl takes (downloads and mirrors) has, validated alike. */
export const requestFields = {
  vcenter: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a configured vCenter name (letters, digits, . _ -, at most 64)')
    .optional(),
  destination: z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters'),
  maxBytesPerSecond: z.int().min(1024, 'must be at least 1024 bytes per second').optional(),
};

const schema = z.strictObject({
  vcenter: requestFields.vcenter,
  libraryItemId: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters').regex(PRINTABLE, 'must not contain control characters'),
  destination: requestFields.destination,
  files: z.array(z.string().max(255, 'must be at most 255 characters')).min(1, 'must list at least one file when given').max(10_000).optional(),
  overwrite: z.boolean().optional(),
  maxBytesPerSecond: requestFields.maxBytesPerSecond,
  bandwidthGroup: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1–128 characters: letters, digits, . _ : -').optional(),
});

export interface ParseOptions {
  /** When given, `vcenter` must be one of these. */
  vcenters?: readonly string[] | undefined;
}

/**
 * Validates a request from anywhere (producer API, HTTP, a job's data) into a DownloadRequest, or
 * throws InvalidRequestError naming the first bad field. Unknown fields are refused: a misspelt
 * `overwrite` must not silently mean "no".
 */
export function parseDownloadRequest(input: unknown, options: ParseOptions = {}): DownloadRequest {
  const r = parseStrictly(schema, input);
  const vcenter = knownVCenter(r.vcenter, options);
  allowedDestination(r.destination);
  if (r.files) {
    for (const [i, name] of r.files.entries()) {
      const why = DestinationDir.fileNameProblem(name);
      if (why) throw new InvalidRequestError(`files.${i}`, `refusing file name ${JSON.stringify(name)}: ${why}`);
    }
    const dup = r.files.find((f, i) => r.files!.indexOf(f) !== i);
    if (dup !== undefined) throw new InvalidRequestError('files', `lists ${JSON.stringify(dup)} twice`);
  }
  if (r.bandwidthGroup !== undefined && r.maxBytesPerSecond === undefined) throw new InvalidRequestError('bandwidthGroup', 'needs maxBytesPerSecond: a group shares a cap');
  const request: DownloadRequest = { vcenter, libraryItemId: r.libraryItemId, destination: r.destination, overwrite: r.overwrite ?? false };
  if (r.files) request.files = r.files;
  if (r.maxBytesPerSecond !== undefined) request.maxBytesPerSecond = r.maxBytesPerSecond;
  if (r.bandwidthGroup !== undefined) request.bandwidthGroup = r.bandwidthGroup;
  return request;
}

/**
 * `input` through a strict zod schema, or an InvalidRequestError naming the first bad field (a
 * field the schema does not know included). For every request cldl takes: downloads and mirrors.
 */
export function parseStrictly<T>(schema: z.ZodType<T>, input: unknown): T {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidRequestError('request', `must be a JSON object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`);
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.map(String).join('.') || 'request';
  const message = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.code === 'invalid_type' ? describeType(issue, input) : issue.message;
  throw new InvalidRequestError(field, message);
}

/** The vCenter a request names (`default` when it names none), if it is one of `options.vcenters`. */
export function knownVCenter(vcenter: string | undefined, options: ParseOptions): string {
  const name = vcenter ?? 'default';
  if (options.vcenters && !options.vcenters.includes(name)) {
    throw new InvalidRequestError('vcenter', `${JSON.stringify(name)} is not a configured vCenter (known: ${options.vcenters.join(', ') || 'none'})`);
  }
  return name;
}

/** Refuses a destination that would leave the download root, naming why. */
export function allowedDestination(destination: string): void {
  const problem = DestinationDir.problem(destination);
  if (problem) throw new InvalidRequestError('destination', `${JSON.stringify(destination)} is not allowed: ${problem}`);
}

/** Job ids become Redis keys and BullMQ ids; BullMQ refuses integer-looking ones, and a ':'. */
export function parseDownloadId(id: unknown): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) {
    throw new InvalidRequestError('id', 'must be 1–128 characters: letters, digits, . _ -, starting with a letter or digit');
  }
  if (/^\d+$/.test(id)) throw new InvalidRequestError('id', 'must not be a plain integer (BullMQ reserves those)');
  return id;
}

function describeType(issue: z.core.$ZodIssueInvalidType, input: object): string {
  let value: unknown = input;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  const got = value === undefined ? 'nothing' : value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return value === undefined ? `is required (${issue.expected})` : `must be ${issue.expected === 'array' ? 'an array' : `a ${issue.expected}`}, got ${got}`;
}
