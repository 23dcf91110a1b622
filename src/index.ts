/** The library: enqueue and watch list sends from your own service, or run the workers in it. */
export { ListSendClient, RunConflictError, RedisUnavailableError } from './client.js';
export type { EnqueueResult, ListSendClientOptions, RunStatus, StepStatus, RunState } from './client.js';
export { loadConfig, ConfigError } from './config.js';
export type { Config, SfmcConfig, SftpConfig } from './config.js';
export { parseListSendRequest, RequestValidationError, listSendRequestSchema } from './request.js';
export type { ListSendRequest, ListSendRequestInput } from './request.js';
export { startWorkers } from './worker/start.js';
export { SftpUploader } from './upload/sftp.js';
export { SftpError } from './upload/errors.js';
export type { WorkerPool, WorkerPoolOptions } from './worker/start.js';
export { createSfmcClient } from './sfmc/client.js';
export { SfmcError } from './sfmc/errors.js';
export { RunError } from './errors.js';
export { QUEUE_NAMES } from '../queues/catalog.js';
export type { QueueName, SendResult } from '../queues/catalog.js';
