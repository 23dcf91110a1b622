import { RunError } from '../src/errors.js';
import type { StepProcessor } from '../src/worker/context.js';

/** Step 1: find the List the subscribers go into. ListName is not unique in SFMC, so several is an error. */
export const resolveList: StepProcessor<'resolve-list'> = async (job, { sfmc, signal, request }) => {
  const { list } = request;
  if ('id' in list) {
    const found = await sfmc.retrieveListById(list.id, { signal });
    if (!found) throw new RunError('list-not-found', `no List with ID ${list.id} in this business unit`, { listId: list.id });
    await job.log(`List ID ${found.id} exists`);
    return { listId: found.id, ...(found.name ? { listName: found.name } : {}) };
  }
  const lists = await sfmc.retrieveListsByName(list.name, { signal });
  if (lists.length === 0) {
    throw new RunError('list-not-found', `list not found: no List named "${list.name}" in this business unit`, { listName: list.name });
  }
  if (lists.length > 1) {
    const ids = lists.map((l) => l.id);
    throw new RunError(
      'ambiguous-list',
      `ambiguous list name: ${lists.length} Lists are named "${list.name}" (IDs ${ids.join(', ')}); give "list": { "id": ... } instead`,
      { listName: list.name, listIds: ids },
    );
  }
  const [only] = lists as [(typeof lists)[number]];
  await job.log(`List "${list.name}" is ID ${only.id}`);
  return { listId: only.id, listName: list.name };
};
