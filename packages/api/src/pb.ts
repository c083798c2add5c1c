// The generated API under one module, so that `packages/api` can publish it as the
// `pb` namespace. Every generated file repeats a few helper names; the explicit
// exports below pick one copy of each, which shadows the ambiguous star exports.

export { Duration } from './generated/google/protobuf/duration.js';
export * from './generated/shoal/v1/ca.js';
export * from './generated/shoal/v1/control.js';
export * from './generated/shoal/v1/dispatcher.js';
export * from './generated/shoal/v1/local.js';
export * from './generated/shoal/v1/objects.js';
export * from './generated/shoal/v1/raft.js';
export * from './generated/shoal/v1/specs.js';
export * from './generated/shoal/v1/store.js';
export * from './generated/shoal/v1/types.js';
export {
  type DeepPartial,
  type Exact,
  type MessageFns,
  protobufFileName,
  protobufPackage,
} from './generated/shoal/v1/types.js';
