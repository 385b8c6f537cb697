/**
 * Every error asynctx throws or reports. One base class with a stable `code`
 * per condition, so callers can branch on `err.code` (or `instanceof`) without
 * parsing messages. Usage errors are thrown synchronously before any byte is
 * written; operation errors arrive through the descriptor (callback, promise).
 */

export class AsyncTxError extends Error {
  /** Stable, documented identifier of the condition, e.g. `ASYNCTX_ERR_INVALID_ARG`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The caller broke the API's contract. Nothing was queued or written. */
export class UsageError extends AsyncTxError {}

/** An argument has the wrong type or a value outside what the operation accepts. */
export class InvalidArgumentError extends UsageError {
  constructor(message: string) {
    super('ASYNCTX_ERR_INVALID_ARG', message);
  }
}

/** An offset or length reaches past the end of a buffer. */
export class OutOfRangeError extends UsageError {
  constructor(message: string) {
    super('ASYNCTX_ERR_OUT_OF_RANGE', message);
  }
}

/** An output overlaps another block where the operation does not allow it. */
export class OverlapError extends UsageError {
  constructor(message: string) {
    super('ASYNCTX_ERR_OVERLAP', message);
  }
}

/** Flags outside TxFlags, or flags the operation does not honour. */
export class UnknownFlagError extends UsageError {
  constructor(message: string) {
    super('ASYNCTX_ERR_UNKNOWN_FLAG', message);
  }
}

/** A dependency misused: an acknowledged parent, a parent given a second child, a foreign descriptor. */
export class DependencyMisuseError extends UsageError {
  constructor(message: string) {
    super('ASYNCTX_ERR_DEPENDENCY', message);
  }
}

/** The client was closed; it accepts no new work. */
export class ClientClosedError extends UsageError {
  constructor(message: string) {
    super('ASYNCTX_ERR_CLIENT_CLOSED', message);
  }
}

/** An operation failed on every path that could run it. */
export class OperationError extends AsyncTxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ASYNCTX_ERR_OPERATION', message, options);
  }
}

/** The descriptor was not run because the one it depends on ended in error. */
export class DependencyFailedError extends AsyncTxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ASYNCTX_ERR_DEPENDENCY_FAILED', message, options);
  }
}

/**
 * A transfer between memory and an I/O target failed: the target's fault, not
 * an engine's, so it is final (not re-run on another engine). `target` is the
 * IoTarget that failed, `systemCode` the system error's code (EIO, ENOSPC…)
 * when there was one.
 */
export class IoError extends AsyncTxError {
  constructor(
    message: string,
    readonly target: { readonly name: string },
    readonly systemCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super('ASYNCTX_ERR_IO', message, options);
  }
}
