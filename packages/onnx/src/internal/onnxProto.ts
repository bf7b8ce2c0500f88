import { MessageWriter } from './protobufWriter.js';

/**
 * Encoders for the ONNX messages a small inference graph needs. Field numbers
 * follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 */

/** Element types this encoder writes, named as onnxruntime-common names them. */
export type OnnxElementType = 'float32' | 'int64';

const DATA_TYPE: Record<OnnxElementType, number> = { float32: 1, int64: 7 };

const ATTRIBUTE_TYPE_INT = 2;

export interface TensorInit {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

export interface ValueInfo {
  readonly name: string;
  readonly type: OnnxElementType;
  /** Fixed sizes as numbers, symbolic dimensions (batch, sequence) as names. */
  readonly shape: readonly (number | string)[];
  readonly docString?: string;
}

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  /** Integer attributes (axis, keepdims): all the generated graphs need, since opset 13+ takes axes as inputs. */
  readonly attributes?: Readonly<Record<string, number>>;
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorInit[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly docString?: string;
}

export interface ModelSpec {
  readonly irVersion: number;
  readonly opsetVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly graph: GraphSpec;
}

/** Serializes a model to the bytes of an `.onnx` file. */
export function encodeModel(model: ModelSpec): Uint8Array {
  const writer = new MessageWriter()
    .int(1, model.irVersion)
    .string(2, model.producerName)
    .string(3, model.producerVersion);
  if (model.docString !== undefined) writer.string(6, model.docString);
  writer.message(7, encodeGraph(model.graph));
  writer.message(8, new MessageWriter().string(1, '').int(2, model.opsetVersion));
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    writer.message(14, new MessageWriter().string(1, key).string(2, value));
  }
  return writer.finish();
}

function encodeGraph(graph: GraphSpec): MessageWriter {
  const writer = new MessageWriter();
  for (const node of graph.nodes) writer.message(1, encodeNode(node));
  writer.string(2, graph.name);
  for (const tensor of graph.initializers) writer.message(5, encodeTensor(tensor));
  if (graph.docString !== undefined) writer.string(10, graph.docString);
  for (const input of graph.inputs) writer.message(11, encodeValueInfo(input));
  for (const output of graph.outputs) writer.message(12, encodeValueInfo(output));
  return writer;
}

function encodeNode(node: NodeSpec): MessageWriter {
  const writer = new MessageWriter();
  for (const input of node.inputs) writer.string(1, input);
  for (const output of node.outputs) writer.string(2, output);
  if (node.name !== undefined) writer.string(3, node.name);
  writer.string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    writer.message(5, encodeAttribute(name, value));
  }
  return writer;
}

function encodeAttribute(name: string, value: number): MessageWriter {
  return new MessageWriter().string(1, name).int(3, value).int(20, ATTRIBUTE_TYPE_INT);
}

function encodeTensor(tensor: TensorInit): MessageWriter {
  const isFloat = tensor.data instanceof Float32Array;
  const raw = new Uint8Array(tensor.data.length * (isFloat ? 4 : 8));
  const view = new DataView(raw.buffer);
  // raw_data is little-endian whatever the host's byte order.
  if (tensor.data instanceof Float32Array) {
    tensor.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  } else {
    tensor.data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  }
  return new MessageWriter()
    .packedInts(1, tensor.dims)
    .int(2, DATA_TYPE[isFloat ? 'float32' : 'int64'])
    .string(8, tensor.name)
    .bytes(9, raw);
}

function encodeValueInfo(info: ValueInfo): MessageWriter {
  const shape = new MessageWriter();
  for (const dim of info.shape) {
    shape.message(1, typeof dim === 'number' ? new MessageWriter().int(1, dim) : new MessageWriter().string(2, dim));
  }
  const tensorType = new MessageWriter().int(1, DATA_TYPE[info.type]).message(2, shape);
  const writer = new MessageWriter().string(1, info.name).message(2, new MessageWriter().message(1, tensorType));
  if (info.docString !== undefined) writer.string(3, info.docString);
  return writer;
}
