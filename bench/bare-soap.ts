import { FlowProducer, Worker, type FlowJob, type Job } from 'bullmq';
import { XMLParser } from 'fast-xml-parser';
import { Agent, request } from 'undici';
import type { Redis } from 'ioredis';
import type { SandboxChildReady } from './sandbox-child.js';

/**
 * Item 1's "bare + SOAP" peer (issue #14): the chain a user would write by hand. Five BullMQ jobs
 * in a FlowProducer chain, each making one of the run's SOAP calls with undici and a default
 * fast-xml-parser: Retrieve List, Create ImportDefinition, Perform start, Retrieve
 * ImportResultsSummary, Create Send. No safety: no run registry or fingerprint, no cancel check,
 * no call budget, no retry classification, no crash-safe writes, no Email check, no clean-up, one
 * token fetched once and never refreshed, bodies from template strings (in the partner WSDL's
 * order, so the sandbox's schema check passes), results passed on with getChildrenValues.
 */

const NAMES = ['resolve', 'create', 'start', 'poll', 'send'].map((s) => `baresoap-${s}`);
const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">';
const PARTNER = 'xmlns="http://exacttarget.com/wsdl/partnerAPI"';

/** A parsed reply, read without types or checks, as the hand-written chain would. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Untyped = Record<string, any>;

/** What each job hands the next one. */
interface Passed {
  listId: string;
  key: string;
  taskId: string;
}

export interface BareSoapChain {
  add(runId: string): Promise<void>;
  /** The last job's worker, for completion and failure events. */
  last: Worker;
  workers: Worker[];
  close(): Promise<void>;
}

export async function startBareSoapChain(
  connection: Redis,
  prefix: string,
  concurrency: number,
  sandbox: SandboxChildReady,
): Promise<BareSoapChain> {
  const agent = new Agent({ connections: 64 });
  const parser = new XMLParser({ removeNSPrefix: true, parseTagValue: false });
  const c = sandbox.credentials;
  const tokenReply = await request(sandbox.tokenUrl, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret, account_id: c.accountId }),
  });
  const token = ((await tokenReply.body.json()) as { access_token: string }).access_token;

  const soap = async (action: string, body: string): Promise<Untyped> => {
    const res = await request(sandbox.soapUrl, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: action },
      body: `${ENVELOPE_OPEN}<soap:Header><fueloauth xmlns="http://exacttarget.com">${token}</fueloauth></soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`,
    });
    const doc = parser.parse(await res.body.text()) as Untyped;
    return doc['Envelope']['Body'];
  };
  const retrieve = (type: string, props: string[], property: string, value: string) =>
    soap(
      'Retrieve',
      `<RetrieveRequestMsg ${PARTNER}><RetrieveRequest><ObjectType>${type}</ObjectType>${props.map((p) => `<Properties>${p}</Properties>`).join('')}` +
        `<Filter xsi:type="SimpleFilterPart"><Property>${property}</Property><SimpleOperator>equals</SimpleOperator><Value>${value}</Value></Filter></RetrieveRequest></RetrieveRequestMsg>`,
    );
  const childValue = async (job: Job): Promise<Passed> => Object.values(await job.getChildrenValues())[0] as Passed;

  const steps: ((job: Job) => Promise<Partial<Passed>>)[] = [
    async () => {
      const body = await retrieve('List', ['ID', 'ListName'], 'ListName', 'Sample_List');
      const results = body['RetrieveResponseMsg']['Results'];
      return { listId: String((Array.isArray(results) ? results[0] : results)['ID']) };
    },
    async (job) => {
      const { listId } = await childValue(job);
      const key = `bs-${job.data.runId as string}`;
      await soap(
        'Create',
        `<CreateRequest ${PARTNER}><Options/><Objects xsi:type="ImportDefinition"><CustomerKey>${key}</CustomerKey><Name>${key}</Name>` +
          `<DestinationObject xsi:type="List"><ID>${listId}</ID></DestinationObject><FieldMappingType>MapByOrdinal</FieldMappingType>` +
          '<FieldMaps><FieldMap><SourceOrdinal>0</SourceOrdinal><DestinationName>ID</DestinationName></FieldMap><FieldMap><SourceOrdinal>4</SourceOrdinal><DestinationName>Email Address</DestinationName></FieldMap></FieldMaps>' +
          '<FileSpec>SAP_List.csv</FileSpec><FileType>CSV</FileType><Notification><ResponseType>email</ResponseType><ResponseAddress>help@example.com</ResponseAddress></Notification>' +
          '<RetrieveFileTransferLocation><CustomerKey>ExactTarget Enhanced FTP</CustomerKey></RetrieveFileTransferLocation><UpdateType>AddAndUpdate</UpdateType></Objects></CreateRequest>',
      );
      return { listId, key };
    },
    async (job) => {
      const { listId, key } = await childValue(job);
      const body = await soap(
        'Perform',
        `<PerformRequestMsg ${PARTNER}><Options/><Action>start</Action><Definitions><Definition xsi:type="ImportDefinition"><CustomerKey>${key}</CustomerKey></Definition></Definitions></PerformRequestMsg>`,
      );
      const results = body['PerformResponseMsg']['Results']['Result'];
      return { listId, taskId: String((Array.isArray(results) ? results[0] : results)['Task']['ID']) };
    },
    async (job) => {
      const { listId, taskId } = await childValue(job);
      const body = await retrieve('ImportResultsSummary', ['TaskResultID', 'ImportStatus'], 'TaskResultID', taskId);
      const results = body['RetrieveResponseMsg']['Results'];
      const status = (Array.isArray(results) ? results[0] : results)?.['ImportStatus'];
      if (status !== 'Completed') throw new Error(`import ${status}`);
      return { listId };
    },
    async (job) => {
      const { listId } = await childValue(job);
      await soap(
        'Create',
        `<CreateRequest ${PARTNER}><Options/><Objects xsi:type="Send"><Email><ID>123</ID></Email><List><ID>${listId}</ID></List></Objects></CreateRequest>`,
      );
      return { listId };
    },
  ];

  const workers = NAMES.map((name, i) => new Worker(name, steps[i] as (job: Job) => Promise<Partial<Passed>>, { connection, prefix, concurrency }));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const flows = new FlowProducer({ connection, prefix });
  return {
    async add(runId) {
      let flow: FlowJob | undefined;
      NAMES.forEach((queueName) => {
        flow = { name: queueName, queueName, data: { runId }, opts: { attempts: 3, backoff: { type: 'fixed', delay: 50 } }, ...(flow ? { children: [flow] } : {}) };
      });
      await flows.add(flow as FlowJob);
    },
    last: workers[workers.length - 1] as Worker,
    workers,
    async close() {
      await flows.close();
      await Promise.all(workers.map((w) => w.close()));
      await agent.close();
    },
  };
}
