/**
 * The operations the simulator serves, named once: both dialects' routes map onto them, fault rules
 * select them and inspect() counts calls by them. `data` is the file-data GET behind a download
 * endpoint, which is no vAPI operation but fails and counts like one.
 */
export const OPERATION_NAMES = [
  'login',
  'logout',
  'session.get',
  'library.list',
  'library.find',
  'item.list',
  'item.get',
  'item.files',
  'item.sync',
  'download_session.create',
  'download_session.get',
  'download_session.list',
  'download_session.keep_alive',
  'download_session.cancel',
  'download_session.fail',
  'download_session.delete',
  'file.list',
  'file.get',
  'file.prepare',
  'data',
] as const;

export type OperationName = (typeof OPERATION_NAMES)[number];
