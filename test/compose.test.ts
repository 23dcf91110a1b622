import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkServeAuth } from '../src/cli/serve.js';
import { envSchema, loadConfig } from '../src/config.js';

/**
 * There is no Docker engine on the CI machines, so the compose file and the Dockerfile are
 * checked as data: services, healthchecks, start order, that every environment variable is one
 * the config schema knows (and that the values given load), and that every command exists.
 */

const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  profiles?: string[];
  container_name?: string;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[] };
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no ${name} service`);
  return s;
};

/** The CLI's commands and their options, read from the commander calls in src/cli/main.ts. */
function cliCommands(): Map<string, Map<string, boolean>> {
  const source = read('src/cli/main.ts');
  const commands = new Map<string, Map<string, boolean>>();
  const blocks = source.split(/\.command\('/).slice(1);
  for (const block of blocks) {
    const name = block.slice(0, block.indexOf("'"));
    const options = new Map<string, boolean>();
    for (const m of block.matchAll(/\.option\('(?:-\w, )?(--[\w-]+)( <[^>]+>)?/g)) options.set(m[1] as string, Boolean(m[2]));
    commands.set(name, options);
  }
  return commands;
}

/** What compose would hand the container: `${VAR:-default}` → default, `${VAR:?message}` → a stand-in. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_m, name: string, fallback?: string) =>
    fallback !== undefined ? fallback : name === 'API_TOKENS' ? 'compose-test-token-0123456789' : `compose-test-${name.toLowerCase()}`,
  );
}

function environmentOf(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
}

function healthPort(s: Service): number | undefined {
  const m = /127\.0\.0\.1:(\d+)\//.exec(s.healthcheck?.test.join(' ') ?? '');
  return m ? Number(m[1]) : undefined;
}

describe('docker-compose.yml', () => {
  it('has redis, api, worker and a sandbox behind the `sandbox` profile', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'redis', 'sandbox', 'worker']);
    expect(service('sandbox').profiles).toEqual(['sandbox']);
    for (const name of ['redis', 'api', 'worker']) expect(service(name).profiles, name).toBeUndefined();
  });

  it('runs Redis 7 with AOF, noeviction, a healthcheck and a named volume', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\b|$)/);
    const command = (redis.command ?? []).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    const volume = redis.volumes?.find((v) => v.endsWith(':/data'));
    expect(volume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(volume?.split(':')[0]);
  });

  it('gives every service a healthcheck, and starts api and worker only once what they need is healthy', () => {
    for (const [name, s] of Object.entries(services)) expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
    expect(service('api').depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    expect(service('worker').depends_on).toEqual({
      redis: { condition: 'service_healthy' },
      // Only when the sandbox profile is on.
      sandbox: { condition: 'service_healthy', required: false },
    });
    for (const s of Object.values(services)) {
      for (const dependency of Object.keys(s.depends_on ?? {})) expect(services[dependency]?.healthcheck).toBeDefined();
    }
  });

  it('lets the worker scale: no container name and no published port', () => {
    const worker = service('worker');
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(service('api').ports).toEqual(['127.0.0.1:${API_PUBLISH_PORT:-3000}:3000']);
  });

  it('runs only commands and options the CLI has', () => {
    const commands = cliCommands();
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['worker', 'serve', 'sandbox', 'enqueue', 'status', 'demo']));
    const expected = { api: 'serve', worker: 'worker', sandbox: 'sandbox' } as const;
    for (const [name, command] of Object.entries(expected)) {
      const [first, ...args] = service(name).command ?? [];
      expect(first, name).toBe(command);
      const options = commands.get(command) ?? new Map<string, boolean>();
      for (let i = 0; i < args.length; i++) {
        const arg = args[i] as string;
        expect(options.has(arg), `${name}: ${command} ${arg}`).toBe(true);
        if (options.get(arg)) i++; // its value
      }
    }
  });

  it('sets only environment variables the config schema declares', () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const [name, s] of Object.entries(services)) {
      if (name === 'redis') continue;
      for (const variable of Object.keys(s.environment ?? {})) expect(known.has(variable), `${name}: ${variable}`).toBe(true);
    }
  });

  it('gives the api a configuration `serve` accepts on 0.0.0.0', () => {
    const config = loadConfig(environmentOf('api'));
    expect(config.api).toMatchObject({ host: '0.0.0.0', port: 3000, dashboard: { user: 'admin' } });
    expect(config.api.tokens).toHaveLength(1);
    expect(() => checkServeAuth(config, config.api.host, false)).not.toThrow();
    expect(healthPort(service('api'))).toBe(config.api.port);
  });

  it('gives the worker a configuration that reaches the sandbox service over http', () => {
    const config = loadConfig(environmentOf('worker'), { requireSfmc: true });
    expect(config.sfmc).toMatchObject({
      auth: { mode: 'oauth2', authUrl: 'http://sandbox:9443', clientId: 'sandbox', accountId: '100000' },
      soapUrl: 'http://sandbox:9443/Service.asmx',
    });
    expect(config.metricsPort).toBe(9464);
    expect(healthPort(service('worker'))).toBe(config.metricsPort);
    expect(service('worker').expose).toEqual([String(config.metricsPort)]);
  });

  it('matches the sandbox the workers are pointed at', () => {
    const sandbox = service('sandbox');
    const port = Number(sandbox.command?.[sandbox.command.indexOf('--port') + 1]);
    expect(environmentOf('worker').SFMC_AUTH_URL).toBe(`http://sandbox:${port}`);
    expect(sandbox.command?.[sandbox.command.indexOf('--host') + 1]).toBe('0.0.0.0');
    expect(healthPort(sandbox)).toBe(port);
    const wsdl = sandbox.environment?.SFMC_WSDL_PATH;
    expect(sandbox.volumes?.some((v) => v.includes(`:${wsdl}:`))).toBe(true);
  });

  it('builds the app services from the Dockerfile stage that runs as a non-root user', () => {
    for (const name of ['api', 'worker', 'sandbox']) expect(service(name).build, name).toEqual({ context: '.', target: 'runtime' });
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)\s+AS\s+(\S+)$/i.exec(line);
    if (from) stages.set(from[2] as string, (current = [line]));
    else current.push(line);
  }

  it('has a build stage and a runtime stage on node:20', () => {
    expect([...stages.keys()]).toEqual(['build', 'runtime']);
    for (const stage of stages.values()) expect(stage[0]).toMatch(/^FROM node:20[-.\w]*\s/);
  });

  it('installs with npm ci, builds, and drops the dev dependencies', () => {
    const build = stages.get('build')?.join('\n') ?? '';
    expect(build).toMatch(/RUN npm ci\b/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
  });

  it('runs as a non-root user, copying only built files from the build stage', () => {
    const runtime = stages.get('runtime') ?? [];
    const user = runtime.filter((l) => /^USER\s/.test(l)).pop();
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/);
    expect(runtime.filter((l) => l.startsWith('COPY')).every((l) => l.startsWith('COPY --from=build'))).toBe(true);
    expect(runtime.join('\n')).toMatch(/ENTRYPOINT \["node", "bin\/list-send\.js"\]/);
  });

  it('copies sources that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const sources = (stages.get('build') ?? [])
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from'))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'queues', 'processors', 'bin']));
    for (const source of sources) {
      expect(existsSync(join(root, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });
});
