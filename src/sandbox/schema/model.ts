// Content models as automata. A particle tree becomes a Thompson NFA once per type, and
// the DFA states reached by real documents are built on demand and kept, so validating a
// child element is one map lookup after warm-up. The NFA also answers "what could come
// next here", which is what makes the error messages useful.

import { clark, type ComplexType, type ElementDecl, type GroupParticle, type Particle } from './compile.js';

export interface Matcher {
  /** The declaration the next child `{ns}local` matches, or null when it is not allowed here. */
  accept(key: string): ElementDecl | null;
  /** Whether the children seen so far are a complete content. */
  complete(): boolean;
  /** Elements that may come next, in schema order. */
  expected(): ElementDecl[];
}

interface Edge {
  readonly key: string;
  readonly decl: ElementDecl;
  readonly to: number;
}

interface DfaState {
  readonly nfa: readonly number[];
  readonly accepting: boolean;
  readonly next: Map<string, Transition>;
}

interface Transition {
  readonly decl: ElementDecl;
  readonly to: DfaState;
}

// Expanding bounded repeats copies the particle; the partner schema only uses 1 and unbounded.
const MAX_EXPANDED_OCCURS = 100;

class Automaton {
  private readonly eps: number[][] = [];
  private readonly edges: Edge[][] = [];
  /** Epsilon closures, computed when a document first reaches the state. */
  private readonly closures: Array<number[] | undefined> = [];
  private readonly dfa = new Map<string, DfaState>();
  private readonly final: number;
  readonly start: DfaState;

  constructor(content: Particle | null) {
    const first = this.state();
    this.final = content ? this.repeat(content, first) : first;
    this.start = this.dfaState(this.closure(first));
  }

  step(from: DfaState, key: string): Transition | null {
    const known = from.next.get(key);
    if (known) return known;
    let decl: ElementDecl | undefined;
    const targets = new Set<number>();
    for (const s of from.nfa) {
      for (const edge of this.edges[s]!) {
        if (edge.key !== key) continue;
        decl ??= edge.decl;
        for (const t of this.closure(edge.to)) targets.add(t);
      }
    }
    if (!decl) return null; // misses are not cached: keys come from untrusted documents
    const transition = { decl, to: this.dfaState([...targets].sort((a, b) => a - b)) };
    from.next.set(key, transition);
    return transition;
  }

  expected(from: DfaState): ElementDecl[] {
    const seen = new Map<string, ElementDecl>();
    for (const s of from.nfa) for (const edge of this.edges[s]!) if (!seen.has(edge.key)) seen.set(edge.key, edge.decl);
    return [...seen.values()];
  }

  private state(): number {
    this.eps.push([]);
    this.edges.push([]);
    return this.eps.length - 1;
  }

  private link(from: number, to: number): void {
    this.eps[from]!.push(to);
  }

  /** Adds `p` with its minOccurs/maxOccurs after state `from`; returns the state it ends in. */
  private repeat(p: Particle, from: number): number {
    if (p.max !== Infinity && p.max > MAX_EXPANDED_OCCURS) throw new Error(`Unsupported maxOccurs ${p.max} (above ${MAX_EXPANDED_OCCURS})`);
    let cur = from;
    for (let i = 0; i < p.min; i++) cur = this.once(p, cur);
    if (p.max === Infinity) {
      const loop = this.state();
      this.link(cur, loop);
      this.link(this.once(p, loop), loop);
      return loop;
    }
    for (let i = p.min; i < p.max; i++) {
      const exit = this.state();
      this.link(cur, exit);
      this.link(this.once(p, cur), exit);
      cur = exit;
    }
    return cur;
  }

  private once(p: Particle, from: number): number {
    if (p.kind === 'element') {
      const to = this.state();
      this.edges[from]!.push({ key: clark(p.decl.ns, p.decl.name), decl: p.decl, to });
      return to;
    }
    if (p.kind === 'all') throw new Error('Unsupported XSD: <all> nested inside another group');
    if (p.kind === 'sequence') return p.items.reduce((cur, item) => this.repeat(item, cur), from);
    const end = this.state();
    for (const item of p.items) this.link(this.repeat(item, from), end);
    if (p.items.length === 0) this.link(from, end);
    return end;
  }

  private closure(s: number): number[] {
    const known = this.closures[s];
    if (known) return known;
    const seen = new Set([s]);
    const stack = [s];
    for (let cur = stack.pop(); cur !== undefined; cur = stack.pop()) {
      for (const t of this.eps[cur]!) {
        if (seen.has(t)) continue;
        seen.add(t);
        stack.push(t);
      }
    }
    const closure = [...seen].sort((a, b) => a - b);
    this.closures[s] = closure;
    return closure;
  }

  private dfaState(nfa: number[]): DfaState {
    const id = nfa.join(',');
    let state = this.dfa.get(id);
    if (!state) {
      state = { nfa, accepting: nfa.includes(this.final), next: new Map() };
      this.dfa.set(id, state);
    }
    return state;
  }
}

class SequenceMatcher implements Matcher {
  constructor(
    private readonly automaton: Automaton,
    private state: DfaState,
  ) {}

  accept(key: string): ElementDecl | null {
    const t = this.automaton.step(this.state, key);
    if (!t) return null;
    this.state = t.to;
    return t.decl;
  }

  complete(): boolean {
    return this.state.accepting;
  }

  expected(): ElementDecl[] {
    return this.automaton.expected(this.state);
  }
}

/** <all>: each member at most once, in any order (XSD 1.0 allows it only as the whole content). */
class AllMatcher implements Matcher {
  private readonly seen = new Set<string>();

  constructor(private readonly group: GroupParticle) {}

  private members(): Array<{ key: string; decl: ElementDecl; min: number }> {
    return this.group.items.map((p) => {
      if (p.kind !== 'element' || p.max > 1) throw new Error('Unsupported XSD: <all> may only hold elements with maxOccurs <= 1');
      return { key: clark(p.decl.ns, p.decl.name), decl: p.decl, min: p.min };
    });
  }

  accept(key: string): ElementDecl | null {
    const member = this.members().find((m) => m.key === key);
    if (!member || this.seen.has(key)) return null;
    this.seen.add(key);
    return member.decl;
  }

  complete(): boolean {
    if (this.seen.size === 0 && this.group.min === 0) return true;
    return this.members().every((m) => m.min === 0 || this.seen.has(m.key));
  }

  expected(): ElementDecl[] {
    return this.members()
      .filter((m) => !this.seen.has(m.key))
      .map((m) => m.decl);
  }
}

const automata = new WeakMap<ComplexType, Automaton>();

/** A fresh matcher for one element's children against `type`'s content model. */
export function matcherFor(type: ComplexType): Matcher {
  const content = type.content;
  if (content?.kind === 'all') return new AllMatcher(content);
  let automaton = automata.get(type);
  if (!automaton) {
    automaton = new Automaton(content);
    automata.set(type, automaton);
  }
  return new SequenceMatcher(automaton, automaton.start);
}
