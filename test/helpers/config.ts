import { ConfigError, loadConfig } from '../../src/config.js';

/** The problems loadConfig reports for an environment (none: an empty list). */
export function configProblems(env: Record<string, string>, options?: Parameters<typeof loadConfig>[1]): string[] {
  try {
    loadConfig(env, options);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
