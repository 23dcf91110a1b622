import type { ListSendRequest } from '../src/request.js';
import { RunError } from '../src/errors.js';
import { isSfmcError } from '../src/sfmc/errors.js';
import type { ImportDefinitionRecord, ImportDefinitionSpec } from '../src/sfmc/types.js';
import { childResult, requireDestination, type StepProcessor } from './step.js';

/**
 * The codes a Create of a taken CustomerKey can answer: 43030 "ImportDefinition Exists"
 * (43000-43999 page) and the generic 1 "Name already exists ... the partner key is already used in
 * the account" (0-99 error page). Which one SFMC sends for an ImportDefinition is unverified.
 */
const KEY_IN_USE = new Set([43030, 1]);

export function importDefinitionSpec(request: ListSendRequest, listId: string, fileSpec = request.import.fileSpec): ImportDefinitionSpec {
  const { allowEmpty: _allowEmpty, keepDefinition: _keepDefinition, ...imp } = request.import;
  // An uploaded file was checked with 1 header line unless told otherwise: SFMC is told the same.
  const headerLines = imp.headerLines ?? (request.file ? 1 : undefined);
  return { ...imp, fileSpec, ...(headerLines !== undefined ? { headerLines } : {}), listId };
}

/**
 * Fields read back that must agree for an existing definition to be this run's own. Only what a
 * Retrieve of ImportDefinition returns is compared (the client asks for DestinationObject.ID,
 * FileSpec, FileType, FieldMappingType, UpdateType); a property SFMC leaves out is not a difference.
 */
function differences(existing: ImportDefinitionRecord, spec: ImportDefinitionSpec): string[] {
  const pairs: [string, string | undefined, string][] = [
    ['DestinationObject.ID', existing.listId, spec.listId],
    ['FileSpec', existing.fileSpec, spec.fileSpec],
    ['FileType', existing.fileType, spec.fileType],
    ['FieldMappingType', existing.fieldMappingType, spec.fieldMappingType],
    ['UpdateType', existing.updateType, spec.updateType],
  ];
  // A property SFMC did not return is not evidence of a difference.
  return pairs.filter(([, have, want]) => have !== undefined && have !== want).map(([name, have, want]) => `${name} is ${have}, not ${want}`);
}

/**
 * Step 2: create the ImportDefinition under a CustomerKey derived from the runId. On re-entry (a
 * retry after a lost reply, a stalled job) it first looks the definition up by CustomerKey, and
 * reuses it when it is the same; a first attempt that meets a taken key (43030 or 1) does the same
 * lookup. With a `file`, it runs only after upload-file put it in the Import folder.
 */
export const createImport: StepProcessor<'create-import'> = async (job, ctx) => {
  const { sfmc, signal, request } = ctx;
  const listId = requireDestination(job, ctx).id;
  const upload = request.file ? await childResult(job, 'upload-file') : undefined;
  const spec = importDefinitionSpec(request, listId, upload?.fileSpec);
  const fileSpec = spec.fileSpec;
  const reuse = async (existing: ImportDefinitionRecord) => {
    const diff = differences(existing, spec);
    if (diff.length > 0) {
      throw new RunError(
        'import-definition-mismatch',
        `ImportDefinition ${spec.customerKey} already exists and differs from this run's: ${diff.join('; ')}`,
        { customerKey: spec.customerKey, differences: diff },
      );
    }
    await job.log(`ImportDefinition ${spec.customerKey} already existed with the same settings; reusing it`);
    return { customerKey: spec.customerKey, fileSpec, reused: true };
  };

  // attemptsStarted counts stalled re-entries too, which attemptsMade (failures only) misses.
  const reentry = job.attemptsMade > 0 || (job.attemptsStarted ?? 1) > 1;
  if (reentry) {
    const earlier = await sfmc.retrieveImportDefinition(spec.customerKey, { signal });
    if (earlier) return reuse(earlier);
  }

  let inUseCode: number;
  try {
    await sfmc.createImportDefinition(spec, { signal });
    return { customerKey: spec.customerKey, fileSpec, reused: false };
  } catch (err) {
    const code = isSfmcError(err) ? err.context.errorCode : undefined;
    if (code === undefined || !KEY_IN_USE.has(code)) throw err;
    inUseCode = code;
  }
  const existing = await sfmc.retrieveImportDefinition(spec.customerKey, { signal });
  if (!existing) {
    // Code 1 also reads "Name already exists": another definition may hold this run's name.
    const hint = inUseCode === 1 ? `; another ImportDefinition may already be named "${spec.name}" (set import.name to a unique one)` : '';
    throw new RunError(
      'import-definition-mismatch',
      `SFMC refused ImportDefinition ${spec.customerKey} as existing (ErrorCode ${inUseCode}) but no definition with that CustomerKey can be retrieved${hint}`,
      { customerKey: spec.customerKey, errorCode: inUseCode },
    );
  }
  return reuse(existing);
};
