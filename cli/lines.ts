/**
 * Splits a byte stream into lines without decoding it: a line is the bytes between two
 * `\n`, so any bytes (not only UTF-8) travel unchanged from a file to records and back.
 */
export async function* readLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let data = carry.length > 0 ? Buffer.concat([carry, buf]) : buf;
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      yield data.subarray(start, nl);
      start = nl + 1;
    }
    carry = Buffer.from(data.subarray(start));
    data = Buffer.alloc(0);
  }
  if (carry.length > 0) yield carry;
}
