import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { writeSampleFile } from '../src/dev/sample-file.js';
import { CsvValidator } from '../src/upload/validate.js';
const path = '/tmp/p4-sample.csv';
const rows = Number(process.argv[2] ?? 1_000_000);
try { await stat(path); } catch { await writeSampleFile(path, { rows }); }
const size = (await stat(path)).size;
for (const engine of (process.argv[3] ?? 'scanner,csv-parse').split(',') as ('scanner' | 'csv-parse')[]) {
  const v = new CsvValidator({ fileType: 'CSV', headerLines: 1, fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Subscriber Key' }, { sourceOrdinal: 4, destinationName: 'Email Address' }], allowErrors: false, allowEmpty: false, expectedBytes: size }, { engine });
  const t0 = performance.now();
  for await (const c of createReadStream(path, { highWaterMark: 256 * 1024 })) v.write(c as Buffer);
  const r = await v.end();
  const ms = performance.now() - t0;
  console.log(engine, (size / 1e6).toFixed(1), 'MB', (size / 1048576 / (ms / 1000)).toFixed(1), 'MiB/s', r.rows, r.problemCount, 'rss', (process.memoryUsage.rss() / 1048576).toFixed(0));
}
