/**
 * An IoTarget over an open file descriptor (a file or a block device): the
 * main-thread path uses callback-style positional fs calls (no FileHandle
 * promise per transfer), and worker engines use the same descriptor directly.
 * The caller owns the descriptor: keep it open until every step naming it is final.
 */
import { read, write } from 'node:fs';
import type { IoTarget } from '../dmaengine/index.js';
import { InvalidArgumentError } from '../errors.js';

export function fdTarget(fd: number, name = `fd ${fd}`): IoTarget {
  if (!Number.isInteger(fd) || fd < 0) throw new InvalidArgumentError(`fdTarget: fd must be a non-negative integer, got ${String(fd)}`);
  return {
    name,
    fd,
    read(dest, position, done) {
      const step = (at: number): void => {
        read(fd, dest, at, dest.length - at, position + at, (err, n) => {
          if (err) return done(err);
          if (n === 0) return done(new Error(`short read at byte ${position + at} of ${name}`));
          if (at + n < dest.length) return step(at + n);
          done(null);
        });
      };
      step(0);
    },
    write(src, position, done) {
      const step = (at: number): void => {
        write(fd, src, at, src.length - at, position + at, (err, n) => {
          if (err) return done(err);
          if (at + n < src.length) return step(at + n);
          done(null);
        });
      };
      step(0);
    },
  };
}
