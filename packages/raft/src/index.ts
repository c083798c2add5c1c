// @shoal/raft: the Raft core (pure state machine), its storage and transport.

export { decodeConfChange, encodeConfChange } from './core/conf-change.js';
export { BOOTSTRAP_INDEX, bootstrapSnapshot, MemoryStorage } from './core/memory-storage.js';
export type { CompiledRawNodeOptions, RawNodeOptions } from './core/options.js';
export type { ProgressState } from './core/progress.js';
export { entriesBytes } from './core/raft-log.js';
export type { ProgressStatus, RaftStatus, RaftSummary } from './core/raw-node.js';
export { RawNode } from './core/raw-node.js';
export { SeededRng } from './core/rng.js';
export type {
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  HardState,
  LogStorage,
  Message,
  MessageType,
  RaftId,
  ReadState,
  Ready,
  Rng,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from './core/types.js';
export { NO_MEMBER } from './core/types.js';
export {
  CompactedError,
  CorruptLogError,
  LeaderChangedError,
  NotLeaderError,
  ProposalDroppedError,
  RaftError,
  RaftErrorCode,
  RaftStoppedError,
  RaftTimeoutError,
  SnapshotOutOfDateError,
  UnavailableError,
} from './errors.js';
export type {
  CallOptions,
  RaftNodeEvent,
  RaftNodeOptions,
  RaftNodeState,
  StateMachine,
} from './node/raft-node.js';
export { RaftNode } from './node/raft-node.js';
export type {
  CompiledFileStorageOptions,
  FileStorageOptions,
  StorageUpdate,
} from './storage/file-storage.js';
export { compileFileStorageOptions, FileStorage } from './storage/file-storage.js';
export type {
  CompiledGrpcTransportOptions,
  GrpcTransportOptions,
} from './transport/grpc-transport.js';
export { compileGrpcTransportOptions, GrpcTransport } from './transport/grpc-transport.js';
export { MESSAGE_TYPE_CODES, messageFromPb, messageToPb } from './transport/message-codec.js';
export type {
  ForwardOptions,
  RaftTransport,
  TransportHandler,
} from './transport/raft-transport.js';
