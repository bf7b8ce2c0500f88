import { ValueStateDescriptor, type Collector, type KeyedProcessContext, type KeyedProcessFunction, type RuntimeContext, type ValueState } from '@tributary/core';

export interface Event {
  readonly id: string;
  readonly payload: string;
}

const SEEN_UNTIL = new ValueStateDescriptor<number | undefined>('seen until');

/**
 * Keyed by event id: lets the first event of an id through and drops
 * repeats for `ttlMs` of processing time. A timer clears the id's state when
 * the time is up, so state does not grow with every id ever seen.
 */
export class DropRepeats implements KeyedProcessFunction<string, Event, Event> {
  private seenUntil: ValueState<number | undefined> | undefined;

  constructor(private readonly ttlMs: number) {}

  open(ctx: RuntimeContext): void {
    this.seenUntil = ctx.getState(SEEN_UNTIL);
  }

  processElement(event: Event, ctx: KeyedProcessContext<string>, out: Collector<Event>): void {
    const seenUntil = this.seenUntil as ValueState<number | undefined>;
    if (seenUntil.value() !== undefined) return;
    const until = ctx.timerService.currentProcessingTime() + this.ttlMs;
    seenUntil.update(until);
    ctx.timerService.registerProcessingTimeTimer(until);
    out.collect(event);
  }

  onTimer(): void {
    (this.seenUntil as ValueState<number | undefined>).clear();
  }
}
