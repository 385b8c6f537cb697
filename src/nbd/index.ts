/** The NBD protocol over block targets: a server (fixed newstyle) that knows nothing of RAID. */
export { NbdServer, type NbdServerOptions, type ListenAddress } from './server.js';
export { TargetError, type BlockTarget } from './target.js';
export { ProtocolError, type ExportInfo } from './handshake.js';
export { NbdClient, NbdRequestError, type NbdAddress, type NbdExport } from './client.js';
export { ConnectionClosed } from './reader.js';
