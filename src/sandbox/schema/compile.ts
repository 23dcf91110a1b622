// Turns the <schema> inside the partner WSDL into plain objects the validator walks.
// Only the XSD subset the partner API uses is supported; anything else throws at load
// time, so a schema we cannot check faithfully never validates documents silently.

import { XSD_NS, builtinTypes, compilePattern, type SimpleType } from './datatypes.js';
import { parseXml, type XmlElement } from './xml.js';

export interface ElementDecl {
  readonly ns: string;
  readonly name: string;
  readonly type: TypeDef;
  readonly nillable: boolean;
  readonly defaultValue: string | null;
  readonly fixedValue: string | null;
}

export interface ElementParticle {
  readonly kind: 'element';
  readonly decl: ElementDecl;
  readonly min: number;
  readonly max: number;
}

export interface GroupParticle {
  readonly kind: 'sequence' | 'choice' | 'all';
  readonly items: readonly Particle[];
  readonly min: number;
  readonly max: number;
}

export type Particle = ElementParticle | GroupParticle;

export interface ComplexType {
  readonly kind: 'complex';
  readonly ns: string;
  /** '' when anonymous. */
  readonly name: string;
  /** null only for anyType. */
  base: TypeDef | null;
  readonly abstract: boolean;
  mixed: boolean;
  /** anyType: any attributes and content are accepted. */
  readonly wildcard: boolean;
  /** The effective content (base content followed by the extension's); null when empty. */
  content: Particle | null;
}

export type TypeDef = SimpleType | ComplexType;

export interface CompiledSchema {
  readonly targetNamespace: string;
  /** Global element declarations by `{ns}name`. */
  readonly elements: ReadonlyMap<string, ElementDecl>;
  /** Named types (built-ins included) by `{ns}name`. */
  readonly types: ReadonlyMap<string, TypeDef>;
  readonly anyType: ComplexType;
  /** Every complex type, anonymous ones included, so content models can be prepared up front. */
  readonly complexTypes: readonly ComplexType[];
}

export const clark = (ns: string, local: string): string => `{${ns}}${local}`;

const UNSUPPORTED_ATTRS = ['ref', 'substitutionGroup', 'block', 'blockDefault', 'final', 'finalDefault'];

function attr(el: XmlElement, name: string): string | undefined {
  return el.attrs.find((a) => a.ns === '' && a.local === name)?.value;
}

function unsupported(what: string): never {
  throw new Error(`Unsupported XSD feature in the partner schema: ${what}`);
}

/** Schema children that matter: annotations carry documentation only. */
function xsdChildren(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of el.children) {
    if (child.ns !== XSD_NS) unsupported(`non-XSD element <${child.name}> inside <${el.name}>`);
    if (child.local !== 'annotation') out.push(child);
  }
  for (const name of UNSUPPORTED_ATTRS) if (attr(el, name) !== undefined) unsupported(`${name}="..." on <${el.name}>`);
  return out;
}

function occurs(el: XmlElement): { min: number; max: number } {
  const min = Number(attr(el, 'minOccurs') ?? '1');
  const rawMax = attr(el, 'maxOccurs') ?? '1';
  const max = rawMax === 'unbounded' ? Infinity : Number(rawMax);
  if (!Number.isInteger(min) || !(Number.isInteger(max) || max === Infinity) || min > max) {
    unsupported(`occurrence bounds minOccurs=${min} maxOccurs=${rawMax}`);
  }
  return { min, max };
}

/** The WSDL wraps the schema in <definitions><types>; a bare XSD works too. */
function findSchema(root: XmlElement): XmlElement {
  if (root.ns === XSD_NS && root.local === 'schema') return root;
  for (const types of root.children.filter((c) => c.local === 'types')) {
    const schema = types.children.find((c) => c.ns === XSD_NS && c.local === 'schema');
    if (schema) return schema;
  }
  throw new Error('No XML Schema found: expected <definitions><types><schema> (a WSDL) or a <schema> root');
}

class Compiler {
  private readonly types = new Map<string, TypeDef>();
  private readonly elements = new Map<string, ElementDecl>();
  /** Types whose bodies are not compiled yet. Bodies are compiled after every name is known,
   *  so element declarations can point at types defined further down (or at themselves). */
  private readonly pending = new Map<TypeDef, () => void>();
  private readonly busy = new Set<TypeDef>();
  private readonly complexTypes: ComplexType[] = [];
  private readonly tns: string;
  private readonly qualified: boolean;
  private readonly anyType: ComplexType;

  constructor(private readonly schema: XmlElement) {
    this.tns = attr(schema, 'targetNamespace') ?? '';
    this.qualified = attr(schema, 'elementFormDefault') === 'qualified';
    for (const t of builtinTypes().values()) this.types.set(clark(XSD_NS, t.name), t);
    const anyType: ComplexType = { kind: 'complex', ns: XSD_NS, name: 'anyType', base: null, abstract: false, mixed: true, wildcard: true, content: null };
    this.anyType = anyType;
    this.types.set(clark(XSD_NS, 'anyType'), anyType);
  }

  compile(): CompiledSchema {
    const globals: XmlElement[] = [];
    for (const child of xsdChildren(this.schema)) {
      if (child.local === 'complexType' || child.local === 'simpleType') {
        const name = attr(child, 'name') ?? unsupported(`global <${child.local}> without a name`);
        const key = clark(this.tns, name);
        if (this.types.has(key)) throw new Error(`A global type definition '${name}' already exists`);
        this.types.set(key, this.shell(child, name));
      } else if (child.local === 'element') {
        globals.push(child);
      } else if (child.local !== 'import') {
        // <import> is skipped on purpose: the WSDL imports a fault schema that request bodies never use.
        unsupported(`<${child.local}> at schema level`);
      }
    }
    for (const el of globals) {
      const decl = this.elementDecl(el, this.tns);
      const key = clark(decl.ns, decl.name);
      if (this.elements.has(key)) throw new Error(`A global element declaration '${decl.name}' already exists`);
      this.elements.set(key, decl);
    }
    for (let next = this.pending.keys().next(); !next.done; next = this.pending.keys().next()) this.finish(next.value);
    const { tns: targetNamespace, elements, types, anyType, complexTypes } = this;
    return { targetNamespace, elements, types, anyType, complexTypes };
  }

  private shell(el: XmlElement, name: string): TypeDef {
    if (el.local === 'simpleType') {
      const t: SimpleType = { kind: 'simple', ns: this.tns, name, base: null, whiteSpace: 'preserve', lexical: null, enumeration: null, patterns: [] };
      this.pending.set(t, () => this.simpleBody(t, el));
      return t;
    }
    const t: ComplexType = {
      kind: 'complex',
      ns: this.tns,
      name,
      base: this.anyType,
      abstract: attr(el, 'abstract') === 'true',
      mixed: attr(el, 'mixed') === 'true',
      wildcard: false,
      content: null,
    };
    this.pending.set(t, () => this.complexBody(t, el));
    this.complexTypes.push(t);
    return t;
  }

  /** Compiles a type body; a base is always finished before the types derived from it. */
  private finish(t: TypeDef): void {
    const body = this.pending.get(t);
    if (!body) return;
    if (this.busy.has(t)) throw new Error(`Circular type derivation through '${t.name}'`);
    this.busy.add(t);
    body();
    this.busy.delete(t);
    this.pending.delete(t);
  }

  private typeRef(el: XmlElement, qname: string): TypeDef {
    const colon = qname.indexOf(':');
    const ns = colon < 0 ? (el.scope.get('') ?? '') : el.scope.get(qname.slice(0, colon));
    const t = ns === undefined ? undefined : this.types.get(clark(ns, qname.slice(colon + 1)));
    if (!t) throw new Error(`Unknown or unsupported type '${qname}' referenced by <${el.name}>`);
    return t;
  }

  private elementDecl(el: XmlElement, ns: string): ElementDecl {
    const name = attr(el, 'name') ?? unsupported('<element> without a name');
    const [anonymous, ...rest] = xsdChildren(el);
    if (rest.length > 0 || (anonymous && anonymous.local !== 'complexType' && anonymous.local !== 'simpleType')) {
      unsupported(`content of element '${name}'`);
    }
    const typeName = attr(el, 'type');
    const type = typeName !== undefined ? this.typeRef(el, typeName) : anonymous ? this.shell(anonymous, '') : this.anyType;
    return {
      ns,
      name,
      type,
      nillable: attr(el, 'nillable') === 'true',
      defaultValue: attr(el, 'default') ?? null,
      fixedValue: attr(el, 'fixed') ?? null,
    };
  }

  private particle(el: XmlElement): Particle | null {
    const { min, max } = occurs(el);
    if (max === 0) return null;
    if (el.local === 'element') {
      const form = attr(el, 'form');
      const qualified = form === undefined ? this.qualified : form === 'qualified';
      return { kind: 'element', decl: this.elementDecl(el, qualified ? this.tns : ''), min, max };
    }
    if (el.local !== 'sequence' && el.local !== 'choice' && el.local !== 'all') unsupported(`<${el.local}> in a content model`);
    const items: Particle[] = [];
    for (const child of xsdChildren(el)) {
      const p = this.particle(child);
      if (p) items.push(p);
    }
    return { kind: el.local, items, min, max };
  }

  private complexBody(t: ComplexType, el: XmlElement): void {
    const [first, ...rest] = xsdChildren(el);
    if (rest.length > 0) unsupported(`<${rest[0]?.local}> in complexType '${t.name}' (attributes are not supported)`);
    if (!first) return;
    if (first.local !== 'complexContent') {
      t.content = this.particle(first);
      return;
    }
    if (attr(first, 'mixed') === 'true') t.mixed = true;
    const [derivation, ...extra] = xsdChildren(first);
    if (!derivation || extra.length > 0) unsupported(`complexContent of '${t.name}'`);
    const base = this.typeRef(derivation, attr(derivation, 'base') ?? unsupported('derivation without a base'));
    if (base.kind !== 'complex') unsupported(`complexContent deriving from simple type '${base.name}'`);
    this.finish(base);
    const [group, ...more] = xsdChildren(derivation);
    if (more.length > 0) unsupported(`<${more[0]?.local}> in the derivation of '${t.name}' (attributes are not supported)`);
    const own = group ? this.particle(group) : null;
    t.base = base;
    if (derivation.local === 'restriction') t.content = own;
    else if (derivation.local === 'extension') t.content = sequenceOf(base.content, own);
    else unsupported(`<${derivation.local}> in complexContent`);
  }

  private simpleBody(t: SimpleType, el: XmlElement): void {
    const [restriction, ...rest] = xsdChildren(el);
    if (!restriction || restriction.local !== 'restriction' || rest.length > 0) {
      unsupported(`simpleType '${t.name}' other than a restriction (list/union)`);
    }
    const baseName = attr(restriction, 'base');
    const facets = xsdChildren(restriction);
    const base = baseName !== undefined ? this.typeRef(restriction, baseName) : facets[0] ? this.shell(facets.shift()!, '') : undefined;
    if (!base || base.kind !== 'simple') unsupported(`base of simpleType '${t.name}'`);
    this.finish(base);
    t.base = base;
    t.whiteSpace = base.whiteSpace;
    for (const facet of facets) {
      const value = attr(facet, 'value') ?? '';
      if (facet.local === 'enumeration') (t.enumeration ??= []).push(value);
      else if (facet.local === 'pattern') t.patterns.push(compilePattern(value));
      else unsupported(`facet <${facet.local}> in simpleType '${t.name}'`);
    }
  }
}

function sequenceOf(a: Particle | null, b: Particle | null): Particle | null {
  if (!a) return b;
  if (!b) return a;
  return { kind: 'sequence', items: [a, b], min: 1, max: 1 };
}

/** Compiles the first XML Schema found in a WSDL (or a standalone XSD document). */
export function compileSchema(text: string): CompiledSchema {
  return new Compiler(findSchema(parseXml(text))).compile();
}
