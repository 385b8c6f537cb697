/**
 * Metadata contexts (proto.md, "Metadata querying"). This server knows one,
 * `base:allocation`, and answers NBD_CMD_BLOCK_STATUS with the whole range as
 * allocated data of unknown content (status 0). That is true of any block
 * target it serves: nothing in it is a hole a client could skip, and no range
 * is promised to read as zeroes.
 */
export const BASE_ALLOCATION = 'base:allocation';

/** The id NBD_OPT_SET_META_CONTEXT gives base:allocation (ids are per connection and opaque to clients). */
export const BASE_ALLOCATION_ID = 1;

/** An NBD_OPT_LIST_META_CONTEXT or NBD_OPT_SET_META_CONTEXT payload. */
export interface MetaRequest {
  readonly exportName: string;
  readonly queries: readonly string[];
}

/**
 * Parses a LIST/SET_META_CONTEXT payload: export name length and name, query
 * count, then each query's length and text. Null when a length runs past the
 * payload or bytes are left over (the spec's syntactically invalid request).
 */
export function parseMetaRequest(data: Buffer): MetaRequest | null {
  let at = 0;
  const string = (): string | null => {
    if (at + 4 > data.length) return null;
    const n = data.readUInt32BE(at);
    if (at + 4 + n > data.length) return null;
    const s = data.toString('utf8', at + 4, at + 4 + n);
    at += 4 + n;
    return s;
  };
  const exportName = string();
  if (exportName === null || at + 4 > data.length) return null;
  const count = data.readUInt32BE(at);
  at += 4;
  const queries: string[] = [];
  // Each query takes at least 4 bytes, so a huge count fails on the payload's end, not on memory.
  for (let i = 0; i < count; i++) {
    const q = string();
    if (q === null) return null;
    queries.push(q);
  }
  return at === data.length ? { exportName, queries } : null;
}

/**
 * The contexts the queries name. LIST: no query, or the `base:` wildcard,
 * lists every context. SET: only the exact name selects it (`base:` is
 * ignored there, as the spec requires). Unknown namespaces and leaf names are
 * ignored, never an error.
 */
export function matchContexts(queries: readonly string[], forList: boolean): string[] {
  if (forList && queries.length === 0) return [BASE_ALLOCATION];
  const hit = queries.some((q) => q === BASE_ALLOCATION || (forList && q === 'base:'));
  return hit ? [BASE_ALLOCATION] : [];
}
