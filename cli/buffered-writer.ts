/** Collects output into large writes (one write per record is slow) and respects the pipe's backpressure. */
export class BufferedWriter {
  private parts: (Buffer | string)[] = [];
  private size = 0;
  constructor(private readonly stream: NodeJS.WritableStream) {}
  write(...parts: (Buffer | string)[]): number {
    let n = 0;
    for (const p of parts) {
      this.parts.push(p);
      n += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
    }
    this.size += n;
    return n;
  }
  pending(): boolean {
    return this.size >= 64 * 1024;
  }
  async drain(): Promise<void> {
    if (this.parts.length === 0) return;
    const data = Buffer.concat(this.parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(data)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }
}
