import { encodeModel } from '../../src/internal/onnxProto.js';

/** y = x · W for x float32 [batch, 4], W = [[1,0],[0,1],[1,1],[2,-1]]: a model with a fixed dimension. */
export const LINEAR_MODEL = encodeModel({
  irVersion: 8,
  opsetVersion: 18,
  producerName: 'test',
  producerVersion: '1',
  graph: {
    name: 'linear',
    nodes: [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', dims: [4, 2], data: Float32Array.of(1, 0, 0, 1, 1, 1, 2, -1) }],
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 4] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 2] }],
  },
});
