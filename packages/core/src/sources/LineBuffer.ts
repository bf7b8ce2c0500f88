/** Bytes a buffer makes room for before each read, and its initial size. */
export const READ_BYTES = 1 << 16;

/**
 * Bytes read ahead from a file, cut into lines (UTF-8, `\n` or `\r\n`, a
 * byte-order mark at the file's start dropped) in
 * time linear in their size, however long a line is: every byte is scanned
 * for a newline once; the buffer doubles when a line outgrows it and drops
 * the lines already taken only when they are at least as long as what it
 * keeps, so each byte is copied a bounded number of times on average.
 */
export class LineBuffer {
  private buffer = Buffer.allocUnsafe(READ_BYTES);
  /** First byte not taken as a line yet. */
  private start = 0;
  /** End of the bytes read. */
  private end = 0;
  /** `[start, scanned)` holds no newline. */
  private scanned = 0;

  /** Bytes taken as lines so far. */
  taken = 0;

  /** Whether the bytes start at the beginning of the file, where a UTF-8 byte-order mark is no part of the first line. */
  constructor(private atFileStart = false) {}

  /** The next complete line, without its line ending; undefined when the bytes held end inside a line. */
  nextLine(): string | undefined {
    const newline = this.buffer.subarray(0, this.end).indexOf(0x0a, this.scanned);
    if (newline < 0) {
      this.scanned = this.end;
      return undefined;
    }
    const lineEnd = newline > this.start && this.buffer[newline - 1] === 0x0d ? newline - 1 : newline;
    return this.take(lineEnd, newline + 1);
  }

  /** What is left after the last newline (a last line without one, its `\r` cut as `nextLine` cuts it), or undefined when nothing is. */
  rest(): string | undefined {
    if (this.start === this.end) return undefined;
    return this.take(this.buffer[this.end - 1] === 0x0d ? this.end - 1 : this.end, this.end);
  }

  /** Free space at the end to read into (at least `READ_BYTES`); report what was read with `filled`. */
  space(): Buffer {
    if (this.buffer.length - this.end < READ_BYTES) this.makeRoom();
    return this.buffer.subarray(this.end);
  }

  filled(bytes: number): void {
    this.end += bytes;
  }

  private take(lineEnd: number, next: number): string {
    let line = this.buffer.toString('utf8', this.start, lineEnd);
    if (this.atFileStart) {
      this.atFileStart = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    this.taken += next - this.start;
    this.start = next;
    this.scanned = next;
    return line;
  }

  private makeRoom(): void {
    const held = this.end - this.start;
    if (held === 0 && this.buffer.length > 16 * READ_BYTES) {
      // The long line that grew the buffer is gone: do not keep its memory for the rest of the file.
      this.buffer = Buffer.allocUnsafe(READ_BYTES);
    } else if (this.start >= held && this.buffer.length - held >= READ_BYTES) {
      this.buffer.copyWithin(0, this.start, this.end);
    } else {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, held + READ_BYTES));
      this.buffer.copy(grown, 0, this.start, this.end);
      this.buffer = grown;
    }
    this.scanned -= this.start;
    this.start = 0;
    this.end = held;
  }
}
