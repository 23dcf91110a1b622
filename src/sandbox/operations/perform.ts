import { randomUUID } from 'node:crypto';
import { el, textOf, type XmlNode } from '../../sfmc/xml.js';
import { child, children, xsiTypeOf } from '../envelope.js';
import { scanImportFile } from '../imports.js';
import { nil, overallStatusOf, performResponse } from '../responses.js';
import type { OperationContext, OperationOutcome } from './context.js';

type Parsed = Record<string, unknown>;

interface TaskOutcome {
  ok: boolean;
  message: string;
  errorCode?: number;
  customerKey?: string;
  taskId?: string;
}

/**
 * Perform `start` on ImportDefinitions. Each Definition gets a `Results/Result` carrying the
 * `Task` whose ID the caller polls ImportResultsSummary with.
 */
export function handlePerform(ctx: OperationContext, msg: unknown): OperationOutcome {
  const action = textOf(child(msg, 'Action')) ?? '';
  const definitions = children(child(msg, 'Definitions'), 'Definition');
  let committed = false;
  const results = definitions.map((def) => {
    const outcome = performOne(ctx, action, def as Parsed);
    committed ||= outcome.ok;
    return performResult(outcome, xsiTypeOf(def) ?? 'APIObject');
  });
  const overall = results.length === 0 ? 'Error' : overallStatusOf(results);
  // The docs' sample has an empty OverallStatusMessage on success; the error wording is the sandbox's.
  const message = results.length === 0 ? 'No Definitions to perform' : overall === 'OK' ? '' : firstError(results);
  return { body: performResponse(results, ctx.store.newRequestId(), message), overallStatus: overall, committed };
}

function firstError(results: XmlNode[]): string {
  for (const r of results) {
    const code = r.children?.find((c) => c.name === 'StatusCode')?.text;
    if (code !== 'OK') return r.children?.find((c) => c.name === 'StatusMessage')?.text ?? 'Error';
  }
  return '';
}

function performOne(ctx: OperationContext, action: string, def: Parsed): TaskOutcome {
  const type = xsiTypeOf(def);
  const customerKey = textOf(def['CustomerKey']);
  if (type !== 'ImportDefinition') {
    return { ok: false, message: `The sandbox performs only on ImportDefinition, not on ${type ?? '(no xsi:type)'}`, customerKey };
  }
  if (action !== 'start') {
    return { ok: false, message: `The sandbox supports only the 'start' action, not '${action}'`, customerKey };
  }
  // 43000 Customer Key Not Specified / 43010 Not Found (docs 43000_43999_importdefinition_object).
  if (!customerKey) return { ok: false, message: 'Customer Key Not Specified', errorCode: 43000 };
  const definition = ctx.store.importDefinitions.get(customerKey);
  if (!definition) {
    return { ok: false, message: `ImportDefinition with CustomerKey '${customerKey}' not found`, errorCode: 43010, customerKey };
  }

  const behaviour = ctx.store.behaviourFor(customerKey);
  const scanned = ctx.dataDir ? scanImportFile(ctx.dataDir, definition) : undefined;
  // The file's counts apply unless setImportBehaviour chose the rows; chosen counts always win.
  const fromFile = behaviour.rows === undefined ? scanned : undefined;
  const totalRows = behaviour.rows ?? scanned?.totalRows ?? ctx.store.defaultRows;
  const taskId = ctx.store.newTaskId();
  ctx.store.imports.set(taskId, {
    taskId,
    customerKey,
    listId: definition.listId,
    startedAt: ctx.now,
    outcome: behaviour.outcome,
    registerDelayMs: behaviour.registerDelayMs,
    durationMs: behaviour.durationMs,
    totalRows,
    numberErrors: Math.min(behaviour.numberErrors ?? fromFile?.numberErrors ?? 0, totalRows),
    numberDuplicated: behaviour.numberDuplicated ?? fromFile?.numberDuplicated ?? 0,
    rowsFrom: fromFile ? 'file' : 'default',
  });
  // The docs' sample: "ImportDefinition performed AsyncID:129159023" with the same number as Task/ID.
  return { ok: true, message: `ImportDefinition performed AsyncID:${taskId}`, customerKey, taskId };
}

/** `PerformResult` in schema order; Object and Task are required even on errors. */
function performResult(o: TaskOutcome, type: string): XmlNode {
  return el('Result', [
    el('StatusCode', o.ok ? 'OK' : 'Error'),
    el('StatusMessage', o.message),
    o.errorCode === undefined ? undefined : el('ErrorCode', o.errorCode),
    el('Object', { 'xsi:type': type }, [nil('ObjectID'), o.customerKey === undefined ? undefined : el('CustomerKey', o.customerKey)]),
    el('Task', [
      el('StatusCode', o.ok ? 'OK' : 'Error'),
      el('StatusMessage', o.ok ? 'OK' : o.message),
      o.errorCode === undefined ? undefined : el('ErrorCode', o.errorCode),
      o.taskId === undefined ? undefined : el('ID', o.taskId),
      o.ok ? el('InteractionObjectID', randomUUID()) : undefined,
    ]),
  ]);
}
