import { readFileSync } from 'node:fs';
import { wordCount } from './wordCount.js';

const text = readFileSync(new URL('../data/rivers.txt', import.meta.url), 'utf8');
// The file ends with a newline: no empty line after it.
const lines = text.replace(/\n$/, '').split('\n');
// Parallelism 2: two task slots, each a worker thread that loads the job from src/wordCount.ts.
const { counts, job } = await wordCount({ lines, parallelism: 2 });

console.log(`Top words of data/rivers.txt (${lines.length} lines, ${counts.length} distinct words):`);
for (const [word, count] of counts.slice(0, 10)) console.log(`  ${word.padEnd(12)} ${'#'.repeat(count)} ${count}`);
console.log(`\nJob '${job.jobName}' ${job.status} in ${job.runtimeMs} ms:`);
for (const op of job.operators) {
  console.log(`  ${op.name.padEnd(16)} x${op.parallelism}  in ${String(op.recordsIn).padStart(5)}  out ${String(op.recordsOut).padStart(5)}`);
}
