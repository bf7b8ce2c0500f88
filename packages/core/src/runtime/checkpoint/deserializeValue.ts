import { DefaultDeserializer } from 'node:v8';

/**
 * `v8.deserialize`, but every typed array, Buffer and DataView it returns has
 * its own memory, of its own length. Node's deserializer makes them views into
 * the bytes it reads (or, unaligned, into its shared pool of small buffers):
 * one value kept from a checkpoint or a cache reply would keep every other
 * value's bytes alive and show them through its `.buffer`.
 */
export function deserializeValue(bytes: Uint8Array): unknown {
  const deserializer = new OwningDeserializer(bytes);
  deserializer.readHeader();
  return deserializer.readValue();
}

class OwningDeserializer extends DefaultDeserializer {
  // Node's hook for the views its serializer writes as host objects; not in @types/node.
  _readHostObject(): ArrayBufferView {
    const view = (DefaultDeserializer.prototype as unknown as { _readHostObject(this: DefaultDeserializer): ArrayBufferView })._readHostObject.call(this);
    const own = new Uint8Array(view.byteLength);
    own.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    if (view instanceof DataView) return new DataView(own.buffer);
    // Buffer's own constructor is the deprecated `Buffer()`.
    if (Buffer.isBuffer(view)) return Buffer.from(own.buffer);
    const View = view.constructor as new (buffer: ArrayBuffer) => ArrayBufferView;
    return new View(own.buffer);
  }
}
