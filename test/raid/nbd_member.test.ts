/** The NBD URI forms a member path may take (libnbd's), and the ones refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNbdUri, NbdUriError, parseNbdUri } from '../../src/raid/index.js';

describe('NBD member URIs', () => {
  it('parses nbd:// with and without a port, and nbd+unix:// with a socket', () => {
    assert.deepEqual(parseNbdUri('nbd://127.0.0.1/disk'), { address: { host: '127.0.0.1', port: 10809 }, exportName: 'disk' });
    assert.deepEqual(parseNbdUri('nbd://localhost:2000/'), { address: { host: 'localhost', port: 2000 }, exportName: '' });
    assert.deepEqual(parseNbdUri('nbd://[::1]:2000/a%20b'), { address: { host: '::1', port: 2000 }, exportName: 'a b' });
    assert.deepEqual(parseNbdUri('nbd+unix:///?socket=/tmp/s.sock'), { address: { path: '/tmp/s.sock' }, exportName: '' });
    assert.deepEqual(parseNbdUri('nbd+unix:///exp?socket=/tmp/x'), { address: { path: '/tmp/x' }, exportName: 'exp' });
    assert.equal(isNbdUri('nbd://h/e'), true);
    assert.equal(isNbdUri('nbd+unix:///?socket=s'), true);
    assert.equal(isNbdUri('/dev/nbd0'), false);
    assert.equal(isNbdUri('disk.img'), false);
  });

  it('refuses other schemes and malformed forms with a typed error', () => {
    for (const bad of [
      'nbds://h/e',
      'nbd+vsock:///e',
      'http://h/e',
      'nbd:///e',
      'nbd+unix:///e',
      'nbd+unix://host/e?socket=/s',
      'nbd+unix:///e?socket=/s&tls=on',
      'nbd://h/e?socket=/s',
      'nbd://user@h/e',
      'nbd://h:99999/e',
    ]) {
      assert.throws(() => parseNbdUri(bad), (e: unknown) => e instanceof NbdUriError && (e as NbdUriError).code === 'ASYNCTX_ERR_RAID_USAGE', bad);
    }
  });
});
