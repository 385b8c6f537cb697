/** The NBD protocol over block targets: a server (fixed newstyle) that knows nothing of RAID. */
export { NbdServer, ListenError, type NbdServerOptions, type ListenAddress } from './server.js';
export { TargetError, type BlockTarget } from './target.js';
export { ProtocolError, type ExportInfo, type Session } from './handshake.js';
export { BASE_ALLOCATION } from './meta_context.js';
export { NbdClient, NbdRequestError, NbdTimeoutError, NbdUsageError, DEFAULT_NBD_TIMEOUT_MS, type NbdAddress, type NbdExport, type NbdClientOptions } from './client.js';
export { ConnectionClosed } from './reader.js';
