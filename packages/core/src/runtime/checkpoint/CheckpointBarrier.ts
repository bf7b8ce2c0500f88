/**
 * Flows with the records from the sources to the sinks and splits the stream
 * into the part before checkpoint `id` and the part after it.
 */
export class CheckpointBarrier {
  constructor(readonly id: number) {}
}
