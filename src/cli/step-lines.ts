import type { StepView } from '../api/runs-page/view.js';

/**
 * One line per step of a run, for `enqueue --wait` and `watch`: redrawn in place on a terminal
 * (ANSI: cursor up to the block's first line, clear to the end of the screen, write the block),
 * and as plain lines otherwise, each printed only when it says something new (an upload's
 * progress in 10 % steps), so a log file or CI output stays short.
 */

const BAR_WIDTH = 20;

const count = (n: number) => n.toLocaleString('en-US');

export function progressBar(done: number, total: number, width = BAR_WIDTH): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%`;
}

/** A step in words: `send: done: Send 123 created`, `poll-import: polls 3, SFMC says Processing; ...`. */
export function stepLine(s: StepView): string {
  const polls = s.polls !== undefined ? `polls ${s.polls}` : '';
  const outcome = s.outcome ?? '';
  const join = (...parts: string[]) => parts.filter(Boolean).join(', ');
  switch (s.state) {
    case 'completed':
      return `  ${s.step}: done${join(polls, outcome) ? `: ${join(polls, outcome)}` : ''}`;
    case 'failed':
      return `  ${s.step}: failed after ${s.attempts} attempt${s.attempts === 1 ? '' : 's'}: ${outcome}`;
    case 'missing':
      return `  ${s.step}: -`;
    default: {
      if (s.upload) {
        const u = s.upload;
        return `  ${s.step}: ${progressBar(u.bytes, u.totalBytes)} ${count(u.bytes)} of ${count(u.totalBytes)} bytes${u.rows !== undefined ? `, ${count(u.rows)} rows` : ''}`;
      }
      // A polling step is active during a check and delayed between checks: one word for both,
      // so a plain line is printed once per check, not twice.
      const word = s.polls !== undefined && (s.state === 'active' || s.state === 'delayed') ? 'polling' : s.state === 'active' ? 'running' : s.state;
      return `  ${s.step}: ${join(word, polls, outcome)}`;
    }
  }
}

/** What makes a plain line worth printing again: its text, with an upload's progress cut to 10 % steps. */
function changeKey(s: StepView): string {
  if (s.upload && s.state !== 'completed' && s.state !== 'failed') {
    return `${s.step}:upload:${Math.floor((10 * s.upload.bytes) / Math.max(1, s.upload.totalBytes))}`;
  }
  return stepLine(s);
}

export interface LineSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class StepLines {
  private drawn = 0;
  private readonly printed = new Map<string, string>();

  constructor(
    private readonly out: LineSink,
    private readonly tty = Boolean(out.isTTY),
  ) {}

  render(steps: readonly StepView[]): void {
    if (this.tty) {
      const block = steps.map(stepLine);
      const up = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
      this.out.write(`${up}${block.join('\n')}\n`);
      this.drawn = block.length;
      return;
    }
    for (const s of steps) {
      const key = changeKey(s);
      if (this.printed.get(s.step) === key || (s.state === 'missing' && !this.printed.has(s.step))) continue;
      // Steps not started yet say nothing new: waiting is the default.
      if (!this.printed.has(s.step) && (s.state === 'waiting' || s.state === 'waiting-children' || s.state === 'prioritized')) continue;
      this.printed.set(s.step, key);
      this.out.write(`${stepLine(s)}\n`);
    }
  }
}
