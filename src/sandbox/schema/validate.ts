// Walks a parsed document against the compiled schema in document order, so the first
// error is the one libxml2 reports first. Messages copy libxml2's wording but name
// target-namespace elements and types without the `{namespace}` noise.

import { clark, type CompiledSchema, type ComplexType, type ElementDecl, type TypeDef } from './compile.js';
import { XSD_NS, normalizeSpace, sameValue, shown, simpleValueError, typeLabel, type SimpleType } from './datatypes.js';
import { matcherFor } from './model.js';
import { parseXml, XmlSyntaxError, type XmlElement } from './xml.js';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const XSI_IGNORED = new Set(['schemaLocation', 'noNamespaceSchemaLocation']);
// libxml2 lists at most ten candidates; a long list buries the useful part of the message.
const MAX_EXPECTED = 10;
const QNAME = /^(?:([^:]+):)?([^:]+)$/;

class Validator {
  readonly errors: string[] = [];

  constructor(private readonly schema: CompiledSchema) {}

  private name(ns: string, local: string): string {
    return ns === '' || ns === this.schema.targetNamespace ? local : `{${ns}}${local}`;
  }

  private typeName(type: TypeDef): string {
    if (type.kind === 'simple') return typeLabel(type);
    if (type.ns === XSD_NS) return `xs:${type.name}`;
    return type.name || 'local complex type';
  }

  private expectedList(decls: ElementDecl[]): string {
    const names = decls.slice(0, MAX_EXPECTED).map((d) => this.name(d.ns, d.name));
    if (decls.length > MAX_EXPECTED) names.push('...');
    return names.length === 1 ? `( ${names[0]} )` : `one of ( ${names.join(', ')} )`;
  }

  element(el: XmlElement, decl: ElementDecl): void {
    const who = `Element '${this.name(el.ns, el.local)}'`;
    let xsiType: string | undefined;
    let xsiNil: string | undefined;
    for (const a of el.attrs) {
      if (a.ns === XSI_NS && a.local === 'type') xsiType = a.value;
      else if (a.ns === XSI_NS && a.local === 'nil') xsiNil = a.value;
      else if (a.ns === XSI_NS && XSI_IGNORED.has(a.local)) continue;
      // The compiler refuses attribute declarations, so every other attribute is undeclared.
      else if (!(decl.type.kind === 'complex' && decl.type.wildcard)) {
        const label = a.ns === XSI_NS ? `xsi:${a.local}` : this.name(a.ns, a.local);
        this.errors.push(`${who}, attribute '${label}': The attribute '${label}' is not allowed.`);
      }
    }
    let type = decl.type;
    if (xsiType !== undefined) {
      const substituted = this.xsiType(el, who, xsiType, decl.type);
      if (!substituted) return;
      type = substituted;
    }
    if (type.kind === 'complex' && type.abstract) {
      this.errors.push(`${who}: The type definition '${this.typeName(type)}' is abstract; name a concrete type with xsi:type.`);
      return;
    }
    if (xsiNil !== undefined && this.nilled(el, decl, who, xsiNil)) return;
    if (type.kind === 'simple') this.simpleContent(el, decl, type, who);
    else this.complexContent(el, type, who);
  }

  /** Resolves and checks xsi:type; undefined after reporting an error. */
  private xsiType(el: XmlElement, who: string, value: string, declared: TypeDef): TypeDef | undefined {
    const where = `${who}, attribute 'xsi:type'`;
    const m = QNAME.exec(value);
    if (!m) {
      this.errors.push(`${where}: ${shown(value)} is not a valid value of the atomic type 'xs:QName'.`);
      return undefined;
    }
    const [, prefix, local = ''] = m;
    const ns = prefix === undefined ? (el.scope.get('') ?? '') : el.scope.get(prefix);
    if (ns === undefined) {
      this.errors.push(`${where}: The QName value ${shown(value)} has no corresponding namespace declaration in scope.`);
      return undefined;
    }
    const type = this.schema.types.get(clark(ns, local));
    if (!type) {
      this.errors.push(`${where}: The QName value ${shown(this.name(ns, local))} of the xsi:type attribute does not resolve to a type definition.`);
      return undefined;
    }
    if (!this.derivesFrom(type, declared)) {
      this.errors.push(
        `${where}: The type definition '${this.typeName(type)}', specified by xsi:type, is blocked or not validly derived ` +
          `from the type definition of the element declaration ('${this.typeName(declared)}').`,
      );
      return undefined;
    }
    return type;
  }

  private derivesFrom(type: TypeDef, base: TypeDef): boolean {
    if (base === this.schema.anyType) return true;
    for (let t: TypeDef | null = type; t; t = t.base) if (t === base) return true;
    return false;
  }

  /** Handles xsi:nil; true when the element needs no further checks. */
  private nilled(el: XmlElement, decl: ElementDecl, who: string, raw: string): boolean {
    const value = normalizeSpace(raw, 'collapse');
    if (!/^(?:true|false|1|0)$/.test(value)) {
      this.errors.push(`${who}, attribute 'xsi:nil': ${shown(value)} is not a valid value of the atomic type 'xs:boolean'.`);
      return true;
    }
    if (value === 'false' || value === '0') return false;
    if (!decl.nillable) this.errors.push(`${who}: The element is not 'nillable'.`);
    else if (el.children.length > 0 || el.text !== '') {
      this.errors.push(`${who}: Neither character nor element content is allowed because the element is 'nilled'.`);
    }
    return true;
  }

  private simpleContent(el: XmlElement, decl: ElementDecl, type: SimpleType, who: string): void {
    if (el.children.length > 0) {
      this.errors.push(`${who}: Element content is not allowed, because the type definition is simple.`);
      return;
    }
    const value = el.text === '' && decl.defaultValue !== null ? decl.defaultValue : el.text;
    const problem = simpleValueError(type, value);
    if (problem) this.errors.push(`${who}: ${problem}`);
    else if (decl.fixedValue !== null && !sameValue(type, value, decl.fixedValue)) {
      this.errors.push(`${who}: The value ${shown(value)} does not match the fixed value constraint '${decl.fixedValue}'.`);
    }
  }

  private complexContent(el: XmlElement, type: ComplexType, who: string): void {
    if (type.wildcard) return;
    const textError =
      type.mixed || el.textAt < 0
        ? null
        : type.content
          ? `${who}: Character content other than whitespace is not allowed because the content type is 'element-only'.`
          : `${who}: Character content is not allowed, because the content type is empty.`;
    if (!type.content && el.children.length > 0) {
      if (textError && el.textAt === 0) this.errors.push(textError);
      this.errors.push(`${who}: Element content is not allowed, because the content type is empty.`);
      return;
    }
    const matcher = matcherFor(type);
    for (const [i, child] of el.children.entries()) {
      if (textError && i === el.textAt) this.errors.push(textError);
      const decl = matcher.accept(clark(child.ns, child.local));
      if (!decl) {
        // Like libxml2, stop checking this element's children after the first one out of place.
        const expected = matcher.expected();
        let hint = expected.length > 0 ? ` Expected is ${this.expectedList(expected)}.` : '';
        const misplaced = expected.find((d) => d.name === child.local);
        if (misplaced) hint += ` It must be in namespace '${misplaced.ns}'.`;
        this.errors.push(`Element '${this.name(child.ns, child.local)}': This element is not expected.${hint}`);
        return;
      }
      this.element(child, decl);
    }
    if (textError && el.textAt === el.children.length) this.errors.push(textError);
    if (!matcher.complete()) {
      this.errors.push(`${who}: Missing child element(s). Expected is ${this.expectedList(matcher.expected())}.`);
    }
  }
}

/** Validates a standalone document whose root must be a global element of the schema. */
export function validateDocument(schema: CompiledSchema, xml: string): string[] {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    if (err instanceof XmlSyntaxError) return [`XML is not well-formed: ${err.message}`];
    throw err;
  }
  const decl = schema.elements.get(clark(root.ns, root.local));
  if (!decl) {
    const tns = schema.targetNamespace;
    const name = root.ns === '' || root.ns === tns ? root.local : `{${root.ns}}${root.local}`;
    const hint = root.ns !== tns && schema.elements.has(clark(tns, root.local)) ? ` (it must be in namespace '${tns}')` : '';
    return [`Element '${name}': No matching global declaration available for the validation root${hint}.`];
  }
  const validator = new Validator(schema);
  validator.element(root, decl);
  return validator.errors;
}
