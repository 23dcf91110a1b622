import { readFileSync } from 'node:fs';
import { validateXML } from 'xmllint-wasm';
import { wsdlPathFor, wsdlStateAt, type WsdlState } from '../../src/sandbox/schema/index.js';

const TNS = 'http://exacttarget.com/wsdl/partnerAPI';
const XSD_FILE = 'partnerAPI.xsd';

/** Where tests look for the partner WSDL: $SFMC_WSDL_PATH, else ../shared/sfmc beside the project. */
export function wsdlPath(): string {
  return wsdlPathFor();
}

/**
 * Whether a CI variable's value means CI: CI=true (GitHub Actions, GitLab, most runners); `false`,
 * `0`, empty and unset mean not CI. The caller passes process.env.CI: no default, so a test can ask
 * about `undefined` inside a CI run.
 */
export function isCi(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/**
 * Whether the WSDL-dependent tests run (true) or skip (false). They skip only in a clone with no
 * ../shared at all, outside CI (README, Testing). In CI, or when a WSDL was named or ../shared is
 * there but the file cannot be read, this throws, so the test file fails with the reason instead
 * of passing with its schema checks quietly skipped.
 */
export function wsdlTestsRun(wsdl: WsdlState, ci: boolean): boolean {
  if (wsdl.state === 'readable') return true;
  const fix = 'Download https://{subdomain}.soap.marketingcloudapis.com/etframework.wsdl and set SFMC_WSDL_PATH to it.';
  if (wsdl.state === 'unreadable') {
    throw new Error(`the SFMC partner WSDL at ${wsdl.path} cannot be read (${wsdl.reason}), so the schema tests cannot run. ${fix}`);
  }
  if (ci) throw new Error(`CI is set but there is no SFMC partner WSDL at ${wsdl.path}: the schema tests must run in CI. ${fix}`);
  return false;
}

export function wsdlAvailable(): boolean {
  return wsdlTestsRun(wsdlStateAt(), isCi(process.env.CI));
}

/**
 * The WSDL's <types><schema> as a standalone XSD for xmllint: it relies on the xsd: and
 * tns: prefixes declared on <definitions>, and its import of the fault schema points at
 * the network, which the tests must not need.
 */
export function partnerXsd(wsdlText: string): string {
  const start = wsdlText.indexOf('<schema');
  const end = wsdlText.indexOf('</schema>', start);
  if (start < 0 || end < 0) throw new Error('no <schema> element in the WSDL');
  return wsdlText
    .slice(start, end + '</schema>'.length)
    .replace(/<import\s+id="APIFault"[^>]*\/>/, '')
    .replace('<schema ', `<schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="${TNS}" `);
}

let cachedXsd: { path: string; xsd: string } | undefined;

function loadXsd(): string {
  const path = wsdlPath();
  if (cachedXsd?.path !== path) cachedXsd = { path, xsd: partnerXsd(readFileSync(path, 'utf8')) };
  return cachedXsd.xsd;
}

/**
 * Validates every document with libxml2 in one xmllint run (each run costs ~250 ms) and
 * returns each name's error messages, [] when the document is valid.
 */
export async function libxml2Validate(docs: Record<string, string>): Promise<Record<string, string[]>> {
  const names = Object.keys(docs);
  const out: Record<string, string[]> = Object.fromEntries(names.map((n) => [n, []]));
  if (names.length === 0) return out;
  // Positional file names: document names may hold characters xmllint would misread.
  const nameOf = new Map(names.map((n, i) => [`doc${i}.xml`, n]));
  const result = await validateXML({
    xml: names.map((n, i) => ({ fileName: `doc${i}.xml`, contents: docs[n] ?? '' })),
    schema: { fileName: XSD_FILE, contents: loadXsd() },
  });
  for (const e of result.errors) {
    if (e.loc?.fileName === XSD_FILE) throw new Error(`libxml2 rejected the extracted schema: ${e.rawMessage}`);
    // Located errors carry the message; "docN.xml fails to validate" only backs up the verdict.
    // Unlocated lines are parser context (the offending line and a caret).
    const failed = /^(\S+) fails to validate$/.exec(e.rawMessage)?.[1];
    const name = nameOf.get(e.loc?.fileName ?? failed ?? '');
    const list = name === undefined ? undefined : out[name];
    if (!list || (!e.loc && list.length > 0)) continue;
    list.push(e.loc ? e.message.replace(/^Schemas validity error : /, '') : e.message);
  }
  // Warnings (an odd namespace URI, say) are printed too; xmllint's own verdict wins.
  for (const m of result.rawOutput.matchAll(/^(\S+) validates$/gm)) {
    const name = nameOf.get(m[1] ?? '');
    if (name !== undefined) out[name] = [];
  }
  return out;
}
