// In-process validation of SOAP body elements against the SFMC partner API schema, so
// the sandbox can refuse what the real Service.asmx would refuse (wrong element order
// above all) without shelling out to xmllint on every request.

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSchema, type CompiledSchema } from './compile.js';
import { matcherFor } from './model.js';
import { validateDocument } from './validate.js';

export interface SchemaValidation {
  valid: boolean;
  errors: string[];
}

export class PartnerSchema {
  constructor(private readonly schema: CompiledSchema) {}

  /**
   * Validates a standalone document whose root is a SOAP Body child, e.g.
   * `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">`. Never throws
   * for bad input: malformed XML and any DOCTYPE come back as errors.
   */
  validateElement(xml: string): SchemaValidation {
    const errors = validateDocument(this.schema, xml);
    return { valid: errors.length === 0, errors };
  }
}

/** Compiles the schema embedded in the partner WSDL. Throws on XSD features it cannot check. */
export function loadPartnerSchema(wsdlText: string): PartnerSchema {
  const schema = compileSchema(wsdlText);
  // Building every content model now surfaces unsupported constructs at load time, not mid-request.
  for (const type of schema.complexTypes) matcherFor(type);
  return new PartnerSchema(schema);
}

/** The directory holding package.json: two levels up from src/, three from dist/src/. */
function projectRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No package.json found above ${start}`);
  }
}

export function defaultWsdlPath(): string {
  return resolve(projectRoot(), '..', 'shared', 'sfmc', 'partnerAPI.wsdl');
}

const cache = new Map<string, PartnerSchema>();

/**
 * Loads and compiles the WSDL at `path`, else $SFMC_WSDL_PATH, else ../shared/sfmc/partnerAPI.wsdl
 * beside the project. Compiled once per path.
 */
export function partnerSchemaFromFile(path?: string): PartnerSchema {
  const file = resolve(path ?? (process.env.SFMC_WSDL_PATH || defaultWsdlPath()));
  const cached = cache.get(file);
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new Error(
      `SFMC partner WSDL not found at ${file}. Download it from your tenant, ` +
        `https://{subdomain}.soap.marketingcloudapis.com/etframework.wsdl, and set SFMC_WSDL_PATH to the file.`,
      { cause: err },
    );
  }
  const schema = loadPartnerSchema(text);
  cache.set(file, schema);
  return schema;
}
