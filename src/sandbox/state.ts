import { randomUUID } from 'node:crypto';
import type { XmlNode } from '../sfmc/xml.js';
import type {
  EmailState,
  ImportBehaviour,
  ImportDefinitionState,
  ImportOutcome,
  ImportState,
  ImportTiming,
  ListState,
  SandboxStateSnapshot,
  SeedData,
  SendBehaviour,
  SendState,
} from './types.js';
import { resolveSendBehaviour } from './sends.js';

/** A stored ImportDefinition: the public record plus the parsed object as created, for echoes. */
export interface StoredImportDefinition extends ImportDefinitionState {
  /** The parsed `Objects` element (attributes as `@_x`), ObjectID filled in. */
  object: Record<string, unknown>;
}

export const DEFAULT_SEED: Required<SeedData> = {
  lists: [{ id: 123, name: 'Sample_List' }],
  emails: [{ id: 123, name: 'Sample Email', subject: 'A sample subject' }],
};

export const DEFAULT_IMPORT_TIMING: Required<ImportTiming> = { registerDelayMs: 500, durationMs: 2000, rows: 100 };

interface ResolvedBehaviour {
  outcome: ImportOutcome;
  registerDelayMs: number;
  durationMs: number;
  /** Only when set through setImportBehaviour: it then wins over counting the file. */
  rows: number | undefined;
  /** Only when set through setImportBehaviour: otherwise the file's own counts apply. */
  numberErrors: number | undefined;
  numberDuplicated: number | undefined;
}

/** A page cursor left by a Retrieve that returned MoreDataAvailable. */
export interface RetrieveCursor {
  objectType: string;
  remaining: XmlNode[];
}

/**
 * Everything one SFMC account holds. Ids come from counters that never go back, not even on
 * reset(): a client that cached an id from before a reset must not see it reused.
 */
export class SandboxStore {
  readonly lists = new Map<string, ListState>();
  readonly emails = new Map<string, EmailState>();
  readonly importDefinitions = new Map<string, StoredImportDefinition>();
  readonly imports = new Map<string, ImportState>();
  readonly sends: SendState[] = [];
  readonly cursors = new Map<string, RetrieveCursor>();

  // Plausible magnitudes: the docs' samples show 7-9 digit ids for lists, tasks and jobs.
  private nextListId = 1000;
  private nextEmailId = 1000;
  private nextTaskId = 129159023;
  private nextSendId = 1000001;

  private behaviour: ImportBehaviour = {};
  private sendOverride: SendBehaviour = {};
  private readonly behaviourByKey = new Map<string, ImportBehaviour>();

  constructor(
    private readonly seed: Required<SeedData>,
    private readonly timing: Required<ImportTiming>,
    private readonly sendDefaults: SendBehaviour = {},
  ) {
    this.loadSeed();
  }

  private loadSeed(): void {
    for (const l of this.seed.lists) this.addList(l);
    for (const e of this.seed.emails) this.addEmail(e);
  }

  reset(): void {
    this.lists.clear();
    this.emails.clear();
    this.importDefinitions.clear();
    this.imports.clear();
    this.sends.length = 0;
    this.cursors.clear();
    this.behaviour = {};
    this.behaviourByKey.clear();
    this.sendOverride = {};
    this.loadSeed();
  }

  addList(list: { id?: string | number; name: string }): ListState {
    const id = list.id === undefined ? String(this.nextListId++) : String(list.id);
    const record = { id, name: list.name };
    this.lists.set(id, record);
    return { ...record };
  }

  addEmail(email: { id?: string | number; name: string; subject?: string }): EmailState {
    const id = email.id === undefined ? String(this.nextEmailId++) : String(email.id);
    const record: EmailState = { id, name: email.name, ...(email.subject !== undefined ? { subject: email.subject } : {}) };
    this.emails.set(id, record);
    return { ...record };
  }

  newTaskId(): string {
    return String(this.nextTaskId++);
  }

  newSendId(): string {
    return String(this.nextSendId++);
  }

  newRequestId(): string {
    return randomUUID();
  }

  get defaultRows(): number {
    return this.timing.rows;
  }

  setImportBehaviour(b: ImportBehaviour & { customerKey?: string }): void {
    const { customerKey, ...rest } = b;
    if (customerKey === undefined) this.behaviour = { ...this.behaviour, ...rest };
    else this.behaviourByKey.set(customerKey, { ...this.behaviourByKey.get(customerKey), ...rest });
  }

  setSendBehaviour(b: SendBehaviour): void {
    this.sendOverride = { ...this.sendOverride, ...b };
  }

  /** What a Send created now gets: defaults, then SandboxOptions.send, then setSendBehaviour. */
  sendBehaviour(): Required<SendBehaviour> {
    return resolveSendBehaviour(this.sendDefaults, this.sendOverride);
  }

  importBehaviours(): { default: ImportBehaviour; byCustomerKey: Record<string, ImportBehaviour> } {
    return { default: { ...this.behaviour }, byCustomerKey: Object.fromEntries(this.behaviourByKey) };
  }

  /** Defaults, then the account-wide override, then the per-CustomerKey override. */
  behaviourFor(customerKey: string): ResolvedBehaviour {
    const b = { ...this.behaviour, ...this.behaviourByKey.get(customerKey) };
    return {
      outcome: b.outcome ?? 'Completed',
      registerDelayMs: b.registerDelayMs ?? this.timing.registerDelayMs,
      durationMs: b.durationMs ?? this.timing.durationMs,
      rows: b.rows,
      numberErrors: b.numberErrors,
      numberDuplicated: b.numberDuplicated,
    };
  }

  snapshot(): SandboxStateSnapshot {
    const defs: Record<string, ImportDefinitionState> = {};
    for (const [key, d] of this.importDefinitions) {
      const { object: _object, ...rest } = d;
      defs[key] = { ...rest };
    }
    const imports: Record<string, ImportState> = {};
    for (const [id, i] of this.imports) imports[id] = { ...i };
    return {
      lists: [...this.lists.values()].map((l) => ({ ...l })),
      emails: [...this.emails.values()].map((e) => ({ ...e })),
      importDefinitions: defs,
      imports,
      sends: this.sends.map((s) => ({ ...s, listIds: [...s.listIds], behaviour: { ...s.behaviour } })),
    };
  }
}
