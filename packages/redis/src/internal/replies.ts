/**
 * Parsing of stream replies. ioredis speaks RESP3 by default and hands map
 * replies back as flat arrays, or as objects with `replyMapping: 'resp3'`;
 * RESP2 gives `[[key, entries]]`. Users pass their own connection options, so
 * every shape is accepted.
 */

/** One stream entry as Redis returns it; `fields` is null for an entry deleted while it was pending. */
export interface RawEntry {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>> | null;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number') return String(value);
  throw new Error(`unexpected value in a stream reply: ${JSON.stringify(value)}`);
}

/** Sets a field as an own property: assigned, a field named `__proto__` would set the object's prototype instead, and vanish. */
function setField(fields: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
  else fields[name] = value;
}

function parseFields(raw: unknown): Record<string, string> | null {
  if (raw === null || raw === undefined) return null;
  const fields: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) setField(fields, text(raw[i]), text(raw[i + 1]));
  } else if (typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) setField(fields, k, text(v));
  } else {
    throw new Error(`unexpected entry fields in a stream reply: ${JSON.stringify(raw)}`);
  }
  return fields;
}

/** `[[id, fields], ...]` (or an object of id -> fields) into entries. */
export function parseEntries(raw: unknown): RawEntry[] {
  if (raw === null || raw === undefined) return [];
  if (Array.isArray(raw)) {
    return raw.map((entry) => {
      if (!Array.isArray(entry)) throw new Error(`unexpected stream entry: ${JSON.stringify(entry)}`);
      return { id: text(entry[0]), fields: parseFields(entry[1]) };
    });
  }
  if (typeof raw === 'object') return Object.entries(raw as Record<string, unknown>).map(([id, f]) => ({ id, fields: parseFields(f) }));
  throw new Error(`unexpected stream entries: ${JSON.stringify(raw)}`);
}

/** The entries of one stream in an XREAD/XREADGROUP reply (null on timeout). */
export function parseReadReply(raw: unknown): RawEntry[] {
  if (raw === null || raw === undefined) return [];
  if (Array.isArray(raw)) {
    if (raw.length === 0) return [];
    // RESP2: [[key, entries]]; RESP3 with legacy mapping: [key, entries].
    const first: unknown = raw[0];
    if (Array.isArray(first)) return parseEntries(first[1]);
    return parseEntries(raw[1]);
  }
  if (typeof raw === 'object') {
    const values = Object.values(raw as Record<string, unknown>);
    return values.length === 0 ? [] : parseEntries(values[0]);
  }
  throw new Error(`unexpected XREADGROUP reply: ${JSON.stringify(raw)}`);
}

/**
 * An XAUTOCLAIM reply: the cursor to continue from ('0-0' once the scan wrapped) and the claimed entries. An entry
 * deleted from the stream while it was pending comes back with no fields (Redis 6.2), or only in the third element,
 * the ids Redis dropped from the pending list (Redis 7): either way it is an entry with `fields: null`, which the
 * reader hands out as a decode failure, as it does when it re-reads its own pending list.
 */
export function parseAutoClaimReply(raw: unknown): { next: string; entries: RawEntry[] } {
  if (!Array.isArray(raw) || raw.length < 2) throw new Error(`unexpected XAUTOCLAIM reply: ${JSON.stringify(raw)}`);
  const deleted: unknown = raw[2] ?? [];
  if (!Array.isArray(deleted)) throw new Error(`unexpected XAUTOCLAIM reply: ${JSON.stringify(raw)}`);
  return { next: text(raw[0]), entries: [...parseEntries(raw[1]), ...deleted.map((id) => ({ id: text(id), fields: null }))] };
}
