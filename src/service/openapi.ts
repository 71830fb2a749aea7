import { DOWNLOAD_STATES, MIRROR_STATES } from '../orchestrator/index.ts';

/**
 * `GET /openapi.json`: the admin server's HTTP API in OpenAPI 3.1. Tests validate the server's
 * real answers against these schemas, so the document cannot drift from the code.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonBody = (schema: object) => ({ content: { 'application/json': { schema } } });
const answer = (description: string, schema: object) => ({ description, ...jsonBody(schema) });
const error = (description: string) => answer(description, ref('Error'));
const int = { type: 'integer', minimum: 0 };
const str = { type: 'string' };
const optStr = { type: ['string', 'null'] };

const guarded = {
  '401': error('A token is configured and the request does not carry it (Authorization: Bearer <token>).'),
  '403': error('The API is off: the server listens beyond loopback without a token.'),
  '421': error('No token is configured and the Host is not loopback (127.0.0.1, [::1], localhost): refused against DNS rebinding.'),
};

const idParam = (what: string) => ({ name: 'id', in: 'path', required: true, description: `The ${what}'s id.`, schema: str });
const stateParam = { name: 'state', in: 'query', required: false, description: 'Only downloads in this state.', schema: { type: 'string', enum: [...DOWNLOAD_STATES] } };
const limitParam = { name: 'limit', in: 'query', required: false, description: 'At most this many, newest first.', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } };

const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: str, message: str, field: str } } },
  },
  Readiness: {
    type: 'object',
    required: ['ready', 'checks'],
    properties: { ready: { type: 'boolean' }, checks: { type: 'object', additionalProperties: str } },
  },
  DownloadRequest: {
    type: 'object',
    required: ['libraryItemId', 'destination'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'Optional: the same id is always one download.' },
      vcenter: { type: 'string', description: 'A configured vCenter; default: default.' },
      libraryItemId: str,
      destination: { type: 'string', description: 'A directory relative to the download root.' },
      files: { type: 'array', items: str, minItems: 1 },
      overwrite: { type: 'boolean' },
      maxBytesPerSecond: { type: 'integer', minimum: 1024 },
      bandwidthGroup: str,
    },
  },
  Accepted: { type: 'object', required: ['id', 'status'], properties: { id: str, status: { type: 'string', description: 'Where to follow it.' } } },
  Progress: {
    type: 'object',
    required: ['bytesDone', 'bytesTotal', 'percent', 'filesDone', 'filesTotal', 'bytesPerSecond'],
    properties: { bytesDone: int, bytesTotal: int, percent: { type: 'integer', minimum: 0, maximum: 100 }, filesDone: int, filesTotal: int, bytesPerSecond: int },
  },
  FileResult: {
    type: 'object',
    required: ['name', 'size', 'checksumAlgorithm', 'checksum', 'verified'],
    properties: { name: str, size: int, checksumAlgorithm: str, checksum: str, verified: { type: 'boolean' } },
  },
  Download: {
    type: 'object',
    required: ['id', 'state', 'request', 'sessionGeneration', 'attempt', 'createdAt', 'updatedAt', 'progress', 'files', 'plannedFiles', 'cancelRequested'],
    not: { required: ['clientToken'] },
    properties: {
      id: str,
      state: { type: 'string', enum: [...DOWNLOAD_STATES] },
      request: { type: 'object', required: ['vcenter', 'libraryItemId', 'destination', 'overwrite'] },
      sessionId: str,
      sessionGeneration: int,
      contentVersion: str,
      attempt: int,
      worker: str,
      createdAt: str,
      updatedAt: str,
      finishedAt: str,
      progress: ref('Progress'),
      files: {
        type: 'array',
        items: { type: 'object', required: ['name', 'bytes', 'status'], properties: { name: str, size: int, bytes: int, status: { enum: ['pending', 'transferring', 'verifying', 'done'] } } },
      },
      plannedFiles: { type: 'array', items: str },
      lastError: str,
      verified: { type: 'array', items: ref('FileResult') },
      result: { type: 'object', required: ['sessionId', 'files', 'totalBytes', 'durationMs'], properties: { sessionId: str, files: { type: 'array', items: ref('FileResult') }, totalBytes: int, durationMs: { type: 'number' } } },
      cancelRequested: { type: 'boolean' },
    },
  },
  MirrorRequest: {
    type: 'object',
    required: ['library', 'destination'],
    additionalProperties: false,
    properties: {
      vcenter: str,
      library: { type: 'string', description: "The library's name or id." },
      destination: str,
      items: { type: 'string', description: 'A glob on item names.' },
      prune: { type: 'boolean' },
      maxBytesPerSecond: { type: 'integer', minimum: 1024 },
    },
  },
  Mirror: {
    type: 'object',
    required: ['id', 'state', 'request', 'items', 'createdAt', 'updatedAt', 'progress'],
    properties: {
      id: str,
      state: { type: 'string', enum: [...MIRROR_STATES] },
      request: { type: 'object', required: ['vcenter', 'library', 'destination', 'prune'] },
      libraryId: str,
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'name', 'dir', 'action'],
          properties: { id: str, name: str, dir: str, contentVersion: str, action: { enum: ['current', 'download', 'prune'] }, downloadId: str, outcome: { enum: ['done', 'failed'] }, reason: str },
        },
      },
      createdAt: str,
      updatedAt: str,
      finishedAt: str,
      lastError: str,
      progress: {
        type: 'object',
        required: ['itemsTotal', 'itemsCurrent', 'itemsDone', 'itemsFailed', 'bytesDone', 'bytesTotal'],
        properties: { itemsTotal: int, itemsCurrent: int, itemsDone: int, itemsFailed: int, bytesDone: int, bytesTotal: int },
      },
    },
  },
  Status: {
    type: 'object',
    required: ['at', 'counts', 'downloads', 'mirrors', 'workers', 'sessions'],
    properties: {
      at: str,
      counts: { type: 'object', additionalProperties: int },
      downloads: { type: 'array', items: ref('Download') },
      mirrors: { type: 'array', items: ref('Mirror') },
      workers: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: str, addr: optStr, age: { type: ['number', 'null'] } } } },
      sessions: { type: 'array', items: { type: 'object', required: ['vcenter', 'sessionId'], properties: { vcenter: str, sessionId: str, downloadId: optStr, error: optStr } } },
    },
  },
};

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'cldl admin API',
    version: '1',
    description:
      'Downloads of vSphere Content Library items, mirror runs, health and status. Without a token (http.token) everything but /livez, /readyz, /metrics and /openapi.json answers only a loopback Host; with one, it needs Authorization: Bearer <token>. POST takes application/json only; DELETE needs X-CLDL-Request: 1 (or an Authorization header): a cross-site HTML form can send neither.',
  },
  components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  security: [{}, { bearer: [] }],
  paths: {
    '/livez': { get: { summary: 'The process runs.', security: [], responses: { '200': answer('Alive.', { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }) } } },
    '/readyz': {
      get: {
        summary: 'Ready to take work: Redis answers, the worker runs, its blocking connection is ready, no shutdown under way.',
        security: [],
        responses: { '200': answer('Ready.', ref('Readiness')), '503': answer('Not ready; the checks say why.', ref('Readiness')) },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics.', security: [], responses: { '200': { description: 'Text exposition format.', content: { 'text/plain': { schema: str } } } } } },
    '/downloads': {
      get: { summary: 'Downloads, newest first.', parameters: [stateParam, limitParam], responses: { '200': answer('The downloads.', { type: 'object', required: ['downloads'], properties: { downloads: { type: 'array', items: ref('Download') } } }), '400': error('A bad state or limit.'), ...guarded } },
      post: {
        summary: 'Queue a download.',
        requestBody: { required: true, ...jsonBody(ref('DownloadRequest')) },
        responses: { '202': answer('Queued (or already known under that id).', ref('Accepted')), '400': error('An invalid request; `field` names the culprit.'), '413': error('The body is too large.'), '415': error('The body is not JSON.'), ...guarded },
      },
    },
    '/downloads/{id}': {
      get: { summary: 'One download.', parameters: [idParam('download')], responses: { '200': answer('The download.', ref('Download')), '400': error('A malformed id.'), '404': error('No such download.'), ...guarded } },
      delete: {
        summary: 'Cancel a download wherever it is.',
        parameters: [idParam('download'), { name: 'X-CLDL-Request', in: 'header', required: false, schema: str, description: 'Required unless an Authorization header is sent.' }],
        responses: {
          '202': answer('What happened.', { type: 'object', required: ['id', 'outcome'], properties: { id: str, outcome: { enum: ['removed', 'canceling', 'finished'] } } }),
          '404': error('No such download.'),
          ...guarded,
          '403': error('The API is off, or the X-CLDL-Request header is missing.'),
        },
      },
    },
    '/mirrors': {
      get: { summary: 'Mirror runs, newest first.', parameters: [limitParam], responses: { '200': answer('The runs.', { type: 'object', required: ['mirrors'], properties: { mirrors: { type: 'array', items: ref('Mirror') } } }), ...guarded } },
      post: {
        summary: 'Mirror a library (only what changed since the last run). A run of the same library into the same destination that is under way is joined.',
        requestBody: { required: true, ...jsonBody(ref('MirrorRequest')) },
        responses: { '202': answer('Queued, or joined.', ref('Accepted')), '400': error('An invalid request, or a destination another library is being mirrored into.'), '415': error('The body is not JSON.'), ...guarded },
      },
    },
    '/mirrors/{id}': { get: { summary: 'One mirror run.', parameters: [idParam('mirror run')], responses: { '200': answer('The run.', ref('Mirror')), '404': error('No such run.'), ...guarded } } },
    '/status': { get: { summary: "The status page's data: downloads, mirror runs, queue counts, workers, vCenter sessions.", parameters: [stateParam], responses: { '200': answer('A snapshot.', ref('Status')), ...guarded } } },
    '/events': {
      get: {
        summary: 'Server-Sent Events: an event `status` (data: a Status snapshot, as JSON) whenever the status changes, at most every second.',
        parameters: [stateParam],
        responses: { '200': { description: 'An event stream that stays open.', content: { 'text/event-stream': { schema: str } } }, ...guarded },
      },
    },
  },
} as const;
