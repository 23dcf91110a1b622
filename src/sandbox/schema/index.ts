// In-process validation of SOAP body elements against the SFMC partner API schema, so
// the sandbox can refuse what the real Service.asmx would refuse (wrong element order
// above all) without shelling out to xmllint on every request.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { projectRoot } from '../../paths.js';
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

export function defaultWsdlPath(): string {
  return resolve(projectRoot(), '..', 'shared', 'sfmc', 'partnerAPI.wsdl');
}

/** `path`, else $SFMC_WSDL_PATH, else ../shared/sfmc/partnerAPI.wsdl beside the project. */
export function wsdlPathFor(path?: string): string {
  return resolve(path ?? (process.env.SFMC_WSDL_PATH || defaultWsdlPath()));
}

export function wsdlAvailableAt(path?: string): boolean {
  return existsSync(wsdlPathFor(path));
}

const cache = new Map<string, PartnerSchema>();

/**
 * Loads and compiles the WSDL at `path`, else $SFMC_WSDL_PATH, else ../shared/sfmc/partnerAPI.wsdl
 * beside the project. Compiled once per path.
 */
export function partnerSchemaFromFile(path?: string): PartnerSchema {
  const file = wsdlPathFor(path);
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
