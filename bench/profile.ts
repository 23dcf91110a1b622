import { Session } from 'node:inspector/promises';
import type { Table } from './common.js';

/**
 * A CPU profile of this process around `fn` (V8's sampling profiler through node:inspector, as
 * `--cpu-prof` would take), summarised by area (whose code the time went to) and by function.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export async function profileCpu<T>(fn: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const result = await fn();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

const AREAS: [RegExp, string][] = [
  [/node_modules\/(fast-xml-parser|path-expression-matcher|strnum)\//, 'XML parsing (fast-xml-parser)'],
  [/node_modules\/bullmq\//, 'BullMQ'],
  [/node_modules\/ioredis\/|node_modules\/(redis-parser|denque|cluster-key-slot|standard-as-callback)\//, 'ioredis'],
  [/node_modules\/undici\//, 'undici (HTTP client)'],
  [/node_modules\/(pino|@pinojs|fast-redact|sonic-boom|thread-stream|quick-format-unescaped|safe-stable-stringify)\b/, 'pino (logging, redaction)'],
  [/node_modules\/zod\//, 'zod'],
  [/node_modules\/csv-parse\//, 'csv-parse'],
  [/\/src\/upload\//, 'upload (src/upload)'],
  [/node_modules\/msgpackr\//, 'msgpackr (BullMQ)'],
  [/\/src\/sandbox\/schema\//, 'sandbox: schema check (src/sandbox/schema)'],
  [/\/src\/sandbox\//, 'sandbox (src/sandbox)'],
  [/\/src\/sfmc\//, 'SOAP client (src/sfmc)'],
  [/\/(processors|queues|src\/worker)\/|\/src\/(client|runs|run-events|request|errors)\.ts/, 'pipeline code (processors, queues, src/worker, src/client)'],
  [/\/bench\//, 'the bench itself'],
  [/^node:|^internal\//, 'Node core (net, streams, http, timers)'],
];

function areaOf(frame: CallFrame): string {
  if (!frame.url) {
    if (frame.functionName === '(idle)') return 'idle';
    if (frame.functionName === '(garbage collector)') return 'garbage collector';
    if (frame.functionName === '(program)') return 'V8 / native (program)';
    return 'native (writev, buffers, crypto, ...)';
  }
  for (const [re, name] of AREAS) if (re.test(frame.url)) return name;
  return /node_modules\//.test(frame.url) ? `other: ${/node_modules\/((@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1] ?? '?'}` : 'other';
}

function where(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const file = url.includes('/node_modules/') ? url.replace(/.*\/node_modules\//, '') : url.replace(/.*\/(src|processors|queues|bench)\//, '$1/');
  return `${file || '(native)'}: ${frame.functionName || '(anonymous)'}`;
}

/** Self time by area, and the functions with the most self time (with their file). */
export function summarise(profile: CpuProfile, topFunctions = 15): { areas: Table; functions: Table } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, { us: number; area: string }>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const key = where(node.callFrame);
    const f = functions.get(key) ?? { us: 0, area };
    f.us += us;
    functions.set(key, f);
  }
  const share = (us: number) => `${((us / total) * 100).toFixed(1)} %`;
  return {
    areas: {
      caption: 'Where the bench process\'s CPU went (self time by area)',
      head: ['area', 'share of samples'],
      rows: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => [area, share(us)]),
    },
    functions: {
      caption: `The ${topFunctions} functions with the most self time`,
      head: ['function', 'area', 'share'],
      rows: [...functions]
        .filter(([, f]) => f.area !== 'idle')
        .sort((a, b) => b[1].us - a[1].us)
        .slice(0, topFunctions)
        .map(([fn, f]) => [`\`${fn}\``, f.area, share(f.us)]),
    },
  };
}

/** Total (inclusive) time under each named function: everything it and its callees ran. */
export function inclusive(profile: CpuProfile, of: { label: string; file: RegExp; fn: string }[]): Table {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const hit = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (!frame) break;
      for (const m of of) if (frame.functionName === m.fn && m.file.test(frame.url)) hit.add(m.label);
    }
    for (const label of hit) totals.set(label, (totals.get(label) ?? 0) + us);
  });
  return {
    caption: 'Inclusive time under some entry points (a function and everything it calls)',
    head: ['entry point', 'share of samples'],
    rows: of.map((m) => [m.label, `${(((totals.get(m.label) ?? 0) / total) * 100).toFixed(1)} %`]),
  };
}
