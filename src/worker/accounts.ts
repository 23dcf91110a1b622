import { DEFAULT_ACCOUNT } from '../config.js';
import { RunError } from '../errors.js';
import type { SfmcApi } from '../sfmc/types.js';
import type { SftpUploader } from '../upload/sftp.js';

/**
 * What a step uses of one SFMC account (business unit): its SOAP client (own token, endpoint and
 * call budget), its Enhanced FTP uploader (own connection cap), and the pause of its budget when
 * SFMC throttles it. Accounts share nothing: a throttled `emea` does not pause `default`.
 */
export interface AccountContext {
  sfmc: SfmcApi;
  uploader?: SftpUploader;
  pauseAccount: (ms: number) => Promise<void>;
}

/**
 * The account a run's request names (`default` when it names none). A name this worker was not
 * configured with fails the run at once, clearly: the producer may have been configured with
 * accounts this worker does not know, and no other account may act in its place.
 */
export function accountFor(accounts: Readonly<Record<string, AccountContext>>, name: string | undefined): AccountContext & { name: string } {
  const key = name ?? DEFAULT_ACCOUNT;
  const account = Object.hasOwn(accounts, key) ? accounts[key] : undefined;
  if (!account) {
    throw new RunError('unknown-account', `the run names account "${key}", which this worker is not configured with (SFMC_ACCOUNTS: ${Object.keys(accounts).join(', ')})`);
  }
  return { ...account, name: key };
}
