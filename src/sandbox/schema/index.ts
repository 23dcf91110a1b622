// In-process validation of SOAP body elements against the SFMC partner API schema, so
// the sandbox can refuse what the real Service.asmx would refuse (wrong element order
// above all) without shelling out to xmllint on every request.

import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
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

/** The folder of shared material beside the project; a clone without it has no WSDL, by design. */
export function defaultSharedDir(): string {
  return resolve(projectRoot(), '..', 'shared');
}

export function defaultWsdlPath(): string {
  return resolve(defaultSharedDir(), 'sfmc', 'partnerAPI.wsdl');
}

/** `path`, else $SFMC_WSDL_PATH, else ../shared/sfmc/partnerAPI.wsdl beside the project. */
export function wsdlPathFor(path?: string): string {
  return resolve(path ?? (process.env.SFMC_WSDL_PATH || defaultWsdlPath()));
}

/**
 * `absent` is the one missing WSDL that is not a mistake: nobody named a file and there is no
 * ../shared at all. A named file, or a ../shared that is there, that cannot be read is `unreadable`:
 * treating it as absent would quietly turn every schema check off.
 */
export type WsdlState =
  | { state: 'readable'; path: string }
  | { state: 'absent'; path: string }
  | { state: 'unreadable'; path: string; reason: string };

/** `file`'s state; `absentWithout` is the folder whose own absence makes a missing file `absent`. */
export function wsdlState(file: string, absentWithout?: string): WsdlState {
  try {
    if (!statSync(file).isFile()) return { state: 'unreadable', path: file, reason: 'not a file' };
    closeSync(openSync(file, 'r'));
    return { state: 'readable', path: file };
  } catch (err) {
    if (absentWithout !== undefined && !existsSync(absentWithout)) return { state: 'absent', path: file };
    return { state: 'unreadable', path: file, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}

/** The state of the WSDL `wsdlPathFor(path)` names. */
export function wsdlStateAt(path?: string): WsdlState {
  const named = path !== undefined || Boolean(process.env.SFMC_WSDL_PATH);
  return wsdlState(wsdlPathFor(path), named ? undefined : defaultSharedDir());
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
