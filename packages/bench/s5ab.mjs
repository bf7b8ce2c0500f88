import { onnxEmbeddingScenario } from './dist/scenarios/onnxEmbedding.js';
const sc = onnxEmbeddingScenario();
const N = +(process.argv[2] ?? 16384);
const pick = process.argv[3] ?? 'hand-loop-warm-session,tributary-warm-session';
const cs = sc.contenders.filter((c) => pick.split(',').includes(c.id));
for (const c of cs) await c.prepare?.(N);
const res = {};
for (const c of cs) await c.run(2048);
for (let r = 0; r < 8; r++) for (const c of cs) {
  globalThis.gc();
  const t = process.cpuUsage(); const w = performance.now();
  await c.run(N);
  const u = process.cpuUsage(t); const wall = performance.now() - w;
  (res[c.id] ??= []).push(`${((u.user + u.system) / N * 1000 / 1000).toFixed(1)}/${(wall * 1000 / N).toFixed(1)}`);
}
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(28), v.join('  '));
for (const c of cs) await c.teardown?.();
