// Reads `len` bytes at byte `off` of a member image or device, for the host side of the cases.
import { closeSync, openSync, readSync } from 'node:fs';

export function readAt(path, off, len) {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(len);
    readSync(fd, b, 0, len, off);
    return b;
  } finally {
    closeSync(fd);
  }
}
