import type { JobOf, ResolveListResult } from '../queues/catalog.js';
import { RunError } from '../src/errors.js';
import type { Destination } from '../src/runs.js';
import type { StepContext, StepProcessor } from './step.js';

/**
 * Step 1: find the List the subscribers go into, and check the Email exists. ListName is not unique
 * in SFMC, so several is an error. A wrong Email ID would otherwise surface only at Create Send,
 * after the import has already changed the List; here it fails the run before anything changes.
 */
export const resolveList: StepProcessor<'resolve-list'> = async (job, ctx) => {
  const list = await findList(ctx);
  let email: ResolveListResult['email'];
  // Unchecked, the result has no `email`: that says it, without a job log write per run (issue #14).
  if (ctx.settings.checkEmail) email = await checkEmail(job, ctx);
  else ctx.log.debug({ emailId: ctx.request.email.id }, 'Email not checked (SFMC_CHECK_EMAIL=false)');
  await recordDestination(job, ctx, { kind: 'list', id: list.listId });
  return email ? { ...list, email } : list;
};

/**
 * The later steps read the destination from the run registry (ctx.destination), so it is written
 * before this step completes; a retry writes it again. A run whose registry entry is gone stops.
 */
async function recordDestination(job: JobOf<'resolve-list'>, { runs }: StepContext, destination: Destination): Promise<void> {
  if (!(await runs.setDestination(job.data.runId, destination))) {
    throw new RunError('run-missing', `the run registry has no entry for run ${job.data.runId}; its destination cannot be recorded`, { runId: job.data.runId });
  }
}

async function findList({ sfmc, signal, request }: StepContext): Promise<Omit<ResolveListResult, 'email'>> {
  const { list } = request;
  if ('id' in list) {
    const found = await sfmc.retrieveListById(list.id, { signal });
    if (!found) throw new RunError('list-not-found', `no List with ID ${list.id} in this business unit`, { listId: list.id });
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
  return { listId: only.id, listName: list.name };
}

async function checkEmail(job: JobOf<'resolve-list'>, { sfmc, signal, request }: StepContext): Promise<NonNullable<ResolveListResult['email']>> {
  const emailId = request.email.id;
  const email = await sfmc.retrieveEmailById(emailId, { signal });
  if (!email) {
    throw new RunError(
      'email-not-found',
      `no Email with ID ${emailId} in this business unit: check "email.id" (the numeric ID in Email Studio); nothing was imported or sent`,
      { emailId },
    );
  }
  await job.log(`Email ID ${email.id} exists: "${email.name ?? ''}", subject "${email.subject ?? ''}"`);
  return email;
}
