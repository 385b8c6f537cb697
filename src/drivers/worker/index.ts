/** The worker-thread engine: a device whose channels are threads over the shared arena. */
export { WorkerDevice, WORKER_DEFAULTS, type WorkerDeviceOptions } from './device.js';
export { WorkerChannel, type WorkerChannelOptions, type WorkerChannelStats } from './channel.js';
