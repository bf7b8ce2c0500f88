/**
 * @tributary/core: the DataStream API and the runtime that executes it.
 * @packageDocumentation
 */
export {
  StreamExecutionEnvironment,
  type EnvironmentOptions,
  type Runtime,
  type CheckpointingOptions,
  type ExecuteOptions,
  type FromAsyncIterableOptions,
} from './api/StreamExecutionEnvironment.js';
export {
  defineJob,
  type JobDefinition,
  type JobDefinitionOptions,
  type JobDefinitionExecuteOptions,
  type JobBuild,
} from './api/defineJob.js';
export type { CheckpointStorage, CompletedCheckpoint, StoredCheckpoint } from './runtime/checkpoint/CheckpointStorage.js';
export { FileCheckpointStorage, type FileCheckpointStorageOptions } from './runtime/checkpoint/FileCheckpointStorage.js';
export { deserializeValue } from './runtime/checkpoint/deserializeValue.js';
export { makeDirectory } from './runtime/makeDirectory.js';
export { DirectoryInUseError, LOCK_FILE, type ExclusiveDirectory } from './runtime/DirectoryLock.js';
export { RestartStrategies, type RestartStrategy } from './runtime/restartStrategies.js';
export { DataStream, SingleOutputStream, DataStreamSink, KeyedStream, type TransformOptions, type CollectedJob } from './api/DataStream.js';
export type { Chaining } from './api/transformations.js';

export { OutputTag } from './api/OutputTag.js';
export type * from './api/functions.js';
export type { Source, SourceReader, SourceReaderContext, ReadResult } from './api/Source.js';
export type { Sink, SinkWriter, SinkWriterContext } from './api/Sink.js';

export { type Clock, SystemClock, ManualClock } from './runtime/Clock.js';
export { drain, drainTurns, yieldToEventLoop } from './runtime/eventLoop.js';
export { isSlotThread } from './runtime/slots/slotThread.js';
export { type Key, MAX_PARALLELISM, keyGroupOf, subtaskForKey } from './runtime/keyGroups.js';
export {
  ValueStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  type StateDescriptor,
  type ValueState,
  type ListState,
  type MapState,
  type ReducingState,
} from './runtime/state/descriptors.js';
export { HeapKeyedStateBackend, type KeyedStateSnapshot } from './runtime/state/HeapKeyedStateBackend.js';
export type { TimersSnapshot } from './runtime/timers/InternalTimerService.js';
export { JobExecutionError, InvalidJobError, OperatorError, messageOf, type UnfinishedClose } from './runtime/errors.js';
export { OptionChecker, describeValue, type DurationRules, type NumberBounds } from './api/OptionChecker.js';
export { brandClass } from './api/brandClass.js';
export type { JobClient, JobEvent, JobExecutionResult, JobStatus, OperatorStats } from './runtime/JobRunner.js';
export type { JobGraphView, JobGraphOperator, JobGraphEdge, JobGraphVertex } from './runtime/JobGraphView.js';
export type { TaskStatus } from './runtime/JobWatchdog.js';

export { type Logger, type LogFields, type LogLevel, type FieldsFirstLogger, fieldsFirst, silentLogger, stderrLogger } from './logging/Logger.js';
export { EventLog, RATE_LIMIT_MS } from './logging/EventLog.js';

export {
  MetricRegistry,
  MetricGroup,
  Counter,
  Gauge,
  type Metric,
  type MetricValue,
  type MetricEntry,
  type MetricVariables,
} from './metrics/MetricRegistry.js';
export { Histogram, HISTOGRAM_BUCKETS, type HistogramSnapshot, type HistogramTotals, type HistogramOptions } from './metrics/Histogram.js';
export { describeMetric, exportedVariables, type MetricDescription } from './metrics/metricCatalog.js';
export { metricOperatorNames } from './metrics/operatorNames.js';

// Operator SPI: for operator authors (@tributary/async, the test harnesses).
export {
  createOperatorContext,
  emitChunk,
  extractKey,
  snapshotOperator,
  restoreOperator,
  type OneInputStreamOperator,
  type OperatorContext,
  type OperatorContextOptions,
  type OperatorFactory,
  type OperatorSnapshot,
  type OperatorListState,
  type Output,
  type ProcessingTimeService,
  type KeyedContext,
  type TaskHooks,
} from './operators/StreamOperator.js';
export { Mailbox, type MailboxOwner } from './runtime/Mailbox.js';
export { TaskTime } from './runtime/TaskTime.js';

export { redistributeListState, type RedistributedListState } from './runtime/checkpoint/redistributeListState.js';
export { keyedShare } from './runtime/checkpoint/restoreAssignment.js';
export { CollectionSource } from './sources/CollectionSource.js';
export { AsyncIterableSource } from './sources/AsyncIterableSource.js';
export { ProcessOperator } from './operators/ProcessOperator.js';
export { KeyedProcessOperator } from './operators/KeyedProcessOperator.js';
export { perSubtask, isPerSubtask, type PerSubtask } from './api/perSubtask.js';
export { functionForSubtask } from './operators/userFunctions.js';
export { FileSource, type FileSplit } from './sources/FileSource.js';
export { FileSink, type FileSinkOptions } from './sinks/FileSink.js';
export { TwoPhaseCommitSink } from './sinks/TwoPhaseCommitSink.js';
export { seededRandom } from './runtime/seededRandom.js';
export { hostHeaderAllowed } from './metrics/loopbackHost.js';
