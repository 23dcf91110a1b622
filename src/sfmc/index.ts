/** The SFMC SOAP client's public surface. */
export {
  createSfmcClient,
  type CallEvent,
  type RetrieveResult,
  type SfmcClient,
  type SfmcClientOptions,
  type SoapAction,
} from './client.js';
export {
  createAuth,
  createTokenProvider,
  DEFAULT_REFRESH_SKEW_MS,
  MemoryTokenStore,
  soapUrlFromInstanceUrl,
  tokenCacheKey,
  type Authorization,
  type GetTokenOptions,
  type SfmcAuth,
  type TokenProvider,
  type TokenRecord,
  type TokenStore,
} from './auth.js';
export {
  buildEnvelope,
  fueloauthHeader,
  parseEnvelope,
  wsseHeader,
  PARTNER_NS,
  SOAP_ENV_NS,
  type SoapBody,
} from './envelope.js';
export {
  classifyFault,
  classifyMalformedXml,
  classifyNonSoapResponse,
  classifyOverallStatus,
  classifyTokenResponse,
  classifyTransportError,
  resultCodeInfo,
} from './classify.js';
export {
  createRequest,
  filterNode,
  importDefinitionObject,
  importDefinitionRef,
  performRequest,
  retrieveRequest,
  sendObject,
  type ComplexFilter,
  type Filter,
  type RetrieveSpec,
  type SimpleFilter,
  type SimpleOperator,
} from './requests.js';
export {
  readCreateResponse,
  readPerformResponse,
  readRetrieveResponse,
  toImportDefinition,
  toImportResultsSummary,
  toList,
  toSend,
  toSendStatus,
  type CreateOutcome,
  type CreateResultRecord,
  type PerformOutcome,
  type PerformResultRecord,
  type RetrievePage,
} from './responses.js';
export { RedisTokenStore, sharedTokenStore, type RedisTokenStoreOptions } from './token-store-redis.js';
export { isSfmcError, SfmcError, type ErrorKind, type SfmcErrorCode, type SfmcErrorContext } from './errors.js';
export { isFailedSendStatus, isFinalSendStatus, SEND_STATUS_PROPERTIES, toDelivery, type SendDelivery } from './send-status.js';
export type * from './types.js';
