/**
 * The progress line of bulk produce/consume: records, records/s and MB/s on stderr,
 * only when a person is watching (stderr is a terminal). In a pipe or a file it prints
 * nothing, so scripts get clean output.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Count `records` more, `bytes` of them. */
  add(records: number, bytes: number): void;
  stop(): void;
  readonly records: number;
  readonly bytes: number;
  readonly elapsedMs: number;
}

const MB = 1_000_000;

export function startProgress(options: { enabled: boolean; label: string; totalBytes?: number }): Progress {
  const started = performance.now();
  let records = 0;
  let bytes = 0;
  let bar: cliProgress.SingleBar | undefined;
  if (options.enabled) {
    const withTotal = options.totalBytes !== undefined && options.totalBytes > 0;
    bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${options.label} ${withTotal ? '[{bar}] {percentage}% | ' : ''}{records} records | {rps} rec/s | {mbps} MB/s`,
        hideCursor: true,
        clearOnComplete: false,
        fps: 10,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(withTotal ? options.totalBytes! : 1, 0, { records: 0, rps: '0', mbps: '0.00' });
  }
  const payload = () => {
    const seconds = Math.max((performance.now() - started) / 1000, 1e-3);
    return { records, rps: Math.round(records / seconds).toLocaleString('en-US'), mbps: (bytes / MB / seconds).toFixed(2) };
  };
  return {
    add(r, b) {
      records += r;
      bytes += b;
      if (bar) bar.update(options.totalBytes ? Math.min(bytes, options.totalBytes) : 0, payload());
    },
    stop() {
      if (bar) {
        bar.update(options.totalBytes ? options.totalBytes : 0, payload());
        bar.stop();
      }
    },
    get records() {
      return records;
    },
    get bytes() {
      return bytes;
    },
    get elapsedMs() {
      return performance.now() - started;
    },
  };
}
