import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobView } from '../src/index.js';
import { launchChromium } from './support/chromium.js';
import { OPERATORS, startInferenceJob } from './support/inferenceJob.js';

/** Screenshots of each run (gitignored); the good ones are copied to docs/images/ by hand. */
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
/** How long the page may take to show a state the job has reached: generous for a loaded 2-core machine; no test waits it out when the view works. */
const WAIT = { timeout: 30_000 };

let browser: Browser;

// On a machine without Chromium this installs Debian's package first: minutes, not seconds.
beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
});

/** The records in of an operator as the page shows them (summed over its subtasks). */
async function recordsIn(page: Page, operator: string): Promise<number> {
  return Number(await page.locator(`[data-operator="${operator}"]`).getAttribute('data-records-in'));
}

async function waitForRecordsIn(page: Page, operator: string, above: number): Promise<void> {
  await until(async () => (await recordsIn(page, operator)) > above, `more than ${above} records into ${operator}`);
}

/** Polls the page until `check` holds: the page's CSP forbids the string expressions `waitForFunction` would need here. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const giveUpAt = performance.now() + WAIT.timeout;
  while (!(await check())) {
    if (performance.now() > giveUpAt) throw new Error(`the page never showed ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function text(page: Page, selector: string): Promise<string> {
  const found = page.locator(selector).first();
  return (await found.count()) === 0 ? '' : ((await found.textContent()) ?? '');
}

describe('the job view in headless Chromium', () => {
  it('shows the running job live: every operator with its parallelism, moving counters, batch sizes, a restart with its cause, subtasks, then the final state', async () => {
    const total = 3000;
    const job = startInferenceJob({ total, failAt: 1800 });
    const view = await startJobView(job.client);
    const page = await browser.newPage({ viewport: { width: 1440, height: 1500 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await page.goto(view.url);
      const graph = job.client.graph();
      const byName = (name: string): string => graph.operators.find((o) => o.name === name)!.id;

      // Every operator of the job, with its name and parallelism.
      await page.waitForSelector('[data-operator]', WAIT);
      for (const op of graph.operators) {
        expect(await page.locator(`[data-operator="${op.id}"] .op-name`).textContent()).toBe(op.name);
        // Chained operators share their task's box, which shows the parallelism.
        const task = page.locator(`[data-vertex="${op.vertex}"]`);
        expect(await task.locator('.task-parallelism').textContent()).toBe(`parallelism ${op.parallelism}`);
        expect(await task.locator(`[data-operator="${op.id}"]`).count()).toBe(1);
      }
      expect(graph.operators.map((o) => o.name)).toEqual(Object.values(OPERATORS));
      const edgeLabels = await page.locator('[data-edge] text').allTextContents();
      expect(edgeLabels).toContain('hash');

      // The counters move while the job runs, without a reload.
      job.openUntil(600);
      await waitForRecordsIn(page, byName(OPERATORS.count), 0);
      const before = await recordsIn(page, byName(OPERATORS.count));
      job.openUntil(1200);
      await waitForRecordsIn(page, byName(OPERATORS.count), before);
      expect(await recordsIn(page, byName(OPERATORS.count))).toBeGreaterThan(before);
      await until(async () => /\d/.test(await text(page, `[data-operator="${byName(OPERATORS.count)}"] .op-rates`)), 'a rate of records per second');
      // Busy time on each task's head operator; main has no backPressuredTimeMs counter yet, so backpressure shows as absent.
      const countTask = graph.operators.find((o) => o.name === OPERATORS.count)!.vertex;
      await until(async () => /^busy \d+% · backpressured \d+%$/.test(await text(page, `[data-vertex="${countTask}"] .task-load`)), 'the busy time of a task');

      // The async operator's panel: batch sizes, and the throttled call retried.
      const embed = page.locator(`[data-async-operator="${byName(OPERATORS.embed)}"]`);
      await embed.locator('[data-distribution="batchSize"] tr[data-bucket]').first().waitFor(WAIT);
      await until(async () => (await text(page, '[data-figure="throttled"] b')) === '1', 'the throttled call');
      // Calls in flight against the configured cap, records held against the capacity (both from the operator's gauges).
      expect(await text(page, '[data-figure="inFlight"] b')).toMatch(/^\d+ \/ \d+ \/ [1-9]\d*$/);
      expect(await text(page, '[data-figure="heldRecords"] b')).toMatch(/^\d+ \/ [1-9][\d,]*$/);
      expect(await embed.locator('[data-figure="batches"] b').textContent()).toMatch(/^[1-9]/);
      expect(await embed.locator('[data-chart="Call latency"] canvas').count()).toBe(1);

      // Checkpoints complete.
      await until(async () => Number((await page.locator('[data-checkpoint-counts]').getAttribute('data-checkpoint-counts'))?.split('/')[0]) > 0, 'a completed checkpoint');
      // Each completed checkpoint shows its duration and its alignment (the column after it).
      expect(await page.locator('#checkpoints th').allTextContents()).toEqual(['id', 'status', 'at', 'duration', 'alignment', 'size', 'file or cause']);
      const completedRow = page.locator('#checkpoints tbody tr:not(.failed)').first();
      expect(await completedRow.locator('td').nth(4).textContent()).toMatch(/^\d+(\.\d)? (ms|s)$/);

      // Subtasks of the keyed operator, on a click.
      await page.locator(`[data-operator="${byName(OPERATORS.count)}"]`).click();
      await page.locator(`[data-subtasks-of="${byName(OPERATORS.count)}"]`).waitFor(WAIT);
      expect(await page.locator('#subtasks tbody tr').count()).toBe(2);
      await page.screenshot({ path: `${OUTPUT}running.png`, fullPage: true });

      // The injected failure and the restart, with operator, subtask and cause.
      job.openUntil(2400);
      await page.locator('[data-restarts="1"]').waitFor(WAIT);
      const restart = await page.locator('#restarts tbody tr').first().allTextContents();
      expect(restart.join(' ')).toContain('injected failure at record 1800');
      expect(restart.join(' ')).toContain(`'${OPERATORS.count}'`);
      await page.screenshot({ path: `${OUTPUT}restarted.png`, fullPage: true });

      // The end: the page keeps the final state.
      job.openUntil(total);
      const result = await job.client.result;
      expect(result.status).toBe('finished');
      await page.locator('[data-status="finished"]').waitFor(WAIT);
      expect(await recordsIn(page, byName(OPERATORS.sink))).toBeGreaterThanOrEqual(total);
      expect(await page.locator('[data-restarts="1"]').count()).toBe(1);
      await page.screenshot({ path: `${OUTPUT}finished.png`, fullPage: true });
      expect([...job.received].length).toBe(total);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
      await view.close();
      job.cleanup();
    }
  }, 180_000);
});
