import type { ListSendRequest } from '../src/request.js';
import { RunError } from '../src/errors.js';
import { isSfmcError } from '../src/sfmc/errors.js';
import type { ImportDefinitionRecord, ImportDefinitionSpec } from '../src/sfmc/types.js';
import { childResult } from '../src/worker/child-result.js';
import type { StepProcessor } from '../src/worker/context.js';

const IMPORT_DEFINITION_EXISTS = 43030;

export function importDefinitionSpec(request: ListSendRequest, listId: string, fileSpec = request.import.fileSpec): ImportDefinitionSpec {
  const { allowEmpty: _allowEmpty, ...imp } = request.import;
  // An uploaded file was checked with 1 header line unless told otherwise: SFMC is told the same.
  const headerLines = imp.headerLines ?? (request.file ? 1 : undefined);
  return { ...imp, fileSpec, ...(headerLines !== undefined ? { headerLines } : {}), listId };
}

/** Fields read back that must agree for an existing definition to be this run's own. */
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
 * Step 2: create the ImportDefinition under a CustomerKey derived from the runId. A retry after a
 * lost reply finds it already there (43030) and reuses it when it is the same definition. With a
 * `file`, it runs only after upload-file put it in the Import folder, and reads the uploaded name.
 */
export const createImport: StepProcessor<'create-import'> = async (job, { sfmc, signal, request }) => {
  const { listId } = await childResult(job, 'resolve-list');
  const upload = request.file ? await childResult(job, 'upload-file') : undefined;
  const spec = importDefinitionSpec(request, listId, upload?.fileSpec);
  const fileSpec = spec.fileSpec;
  try {
    await sfmc.createImportDefinition(spec, { signal });
    await job.log(`ImportDefinition ${spec.customerKey} created for List ${listId}, file ${fileSpec}`);
    return { listId, customerKey: spec.customerKey, fileSpec, reused: false };
  } catch (err) {
    if (!isSfmcError(err) || err.context.errorCode !== IMPORT_DEFINITION_EXISTS) throw err;
  }
  const existing = await sfmc.retrieveImportDefinition(spec.customerKey, { signal });
  if (!existing) {
    throw new RunError('import-definition-mismatch', `SFMC says ImportDefinition ${spec.customerKey} exists but it cannot be retrieved`);
  }
  const diff = differences(existing, spec);
  if (diff.length > 0) {
    throw new RunError(
      'import-definition-mismatch',
      `ImportDefinition ${spec.customerKey} already exists and differs from this run's: ${diff.join('; ')}`,
      { customerKey: spec.customerKey, differences: diff },
    );
  }
  await job.log(`ImportDefinition ${spec.customerKey} already existed with the same settings; reusing it`);
  return { listId, customerKey: spec.customerKey, fileSpec, reused: true };
};
