import { readFile } from 'node:fs/promises';

/** Reads a JSON document from a file path, or from standard input for `-`. */
export async function readJsonInput(source: string): Promise<unknown> {
  const text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source === '-' ? 'standard input' : source} is not valid JSON: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class InputError extends Error {
  override name = 'InputError';
}

/** Exit codes the CLI promises. */
export const EXIT = { ok: 0, runFailed: 1, badInput: 2, unavailable: 3 } as const;
