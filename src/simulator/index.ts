/**
 * The Content Library simulator's public surface, for tests, the demo and benchmarks. It imports
 * nothing from the rest of cldl: an independent peer catches the mistakes a shared type would hide.
 */
export { startSimulator, type Simulator } from './server.ts';
export type { SimulatorItem, SimulatorLibrary } from './library-admin.ts';
export { generatedItems, type ItemSpec, type LibrarySpec, type SimulatorOptions } from './options.ts';
export type { FaultHandle } from './faults.ts';
export type {
  BandwidthFault,
  ClockSkewFault,
  CorruptFault,
  ErrorFault,
  FaultRule,
  HugeJsonFault,
  InvalidateApiSessionsFault,
  OverlongFault,
  PrepareFault,
  ResetFault,
  SessionFault,
  SlowPrepareFault,
  StallFault,
} from './fault-rules.ts';
export type { Inspection, InspectedFile, InspectedSession, ItemActivity } from './inspect.ts';
export type { DataRequestRecord } from './call-log.ts';
export type { OperationName } from './operation-names.ts';
export { OPERATION_NAMES } from './operation-names.ts';
export type { VapiErrorType } from './vapi-errors.ts';
export { vapiErrorStatus, VAPI_ERROR_TYPES } from './vapi-errors.ts';
export type { ChecksumAlgorithm } from './checksums.ts';
export { SimulatorConfigError, SimulatorLookupError, SimulatorStoppedError } from './errors.ts';
export { PATTERN_PERIOD, STAMP_BLOCK } from './generated-content.ts';
