/**
 * The RPC actions `framesnap serve` answers (MTS-WIRE.md section 4), each a
 * call of SnapshotService with the query's business parameters. The
 * service's responses already have the cloud API's PascalCase shapes and
 * list wrappers (SnapshotJobList.SnapshotJob[], ...), which the SDK's models
 * need (section 5).
 */
import type { SnapshotService } from '../service/service.js';
import { ApiError, ApiErrorCodes } from './api-error.js';
import type { QueryParameters } from './wire.js';

/**
 * The common parameters of both signature versions (V2 sends them in the
 * query), not passed on to the service.
 */
const COMMON_PARAMETERS = new Set([
  'Action',
  'Format',
  'Version',
  'Timestamp',
  'SignatureNonce',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureType',
  'AccessKeyId',
  'Signature',
  'RegionId',
]);

/**
 * Parameters every MTS action takes for the cloud's account model; there is
 * one tenant per server here, so they are accepted and not used.
 */
const OWNER_PARAMETERS = ['OwnerId', 'OwnerAccount', 'ResourceOwnerId', 'ResourceOwnerAccount'];

interface Action {
  /** The parameters the service takes, by name. */
  parameters: readonly string[];
  /** Documented parameters of the cloud API that mean nothing here: accepted, not used. */
  ignored?: readonly string[];
  call(service: SnapshotService, request: Record<string, string>): Promise<object>;
}

export const ACTIONS: Readonly<Record<string, Action>> = {
  SubmitSnapshotJob: {
    parameters: ['Input', 'SnapshotConfig', 'PipelineId', 'UserData'],
    call: (service, request) => service.submitSnapshotJob(request as never),
  },
  QuerySnapshotJobList: {
    parameters: [
      'SnapshotJobIds',
      'MaximumPageSize',
      'NextPageToken',
      'State',
      'PipelineId',
      'StartOfJobCreatedTimeRange',
      'EndOfJobCreatedTimeRange',
    ],
    call: (service, request) => service.querySnapshotJobList(request),
  },
  AddPipeline: {
    parameters: ['Name', 'NotifyConfig', 'Speed'],
    // SpeedLevel and Role tune the cloud's capacity and OSS access.
    ignored: ['SpeedLevel', 'Role'],
    call: (service, request) => service.addPipeline(request as never),
  },
  UpdatePipeline: {
    parameters: ['PipelineId', 'Name', 'State', 'NotifyConfig'],
    ignored: ['Role', 'ExtendConfig'],
    call: (service, request) => service.updatePipeline(request as never),
  },
  QueryPipelineList: {
    parameters: ['PipelineIds'],
    call: (service, request) => service.queryPipelineList(request as never),
  },
  SearchPipeline: {
    parameters: ['State', 'PageNumber', 'PageSize'],
    call: (service, request) => service.searchPipeline(request),
  },
  DeletePipeline: {
    parameters: ['PipelineId'],
    call: (service, request) => service.deletePipeline(request as never),
  },
};

export type ActionName = keyof typeof ACTIONS;

/** The action a request names: x-acs-action for V3, the signed Action parameter for V2. */
export function actionOf(name: string | undefined): Action {
  if (name === undefined || name === '')
    throw new ApiError(ApiErrorCodes.InvalidActionNotFound, 'the request names no action (x-acs-action or Action)');
  const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (action === undefined) {
    throw new ApiError(
      ApiErrorCodes.InvalidActionNotFound,
      `Specified api is not found: ${JSON.stringify(name.slice(0, 64))}; framesnap serves ${Object.keys(ACTIONS).join(', ')}`,
    );
  }
  return action;
}

/**
 * The service request of an action: its parameters from the query, strings
 * as sent (the service parses JSON values such as Input and SnapshotConfig,
 * and digit strings where it wants numbers). An unknown parameter is refused
 * naming it: a misspelt one must not be silently ignored, and an object the
 * SDK flattened into `Input.Bucket=...` is not the API's form.
 */
export function requestOf(actionName: string, action: Action, query: QueryParameters): Record<string, string> {
  const request: Record<string, string> = {};
  for (const [name, value] of query) {
    if (COMMON_PARAMETERS.has(name) || OWNER_PARAMETERS.includes(name) || action.ignored?.includes(name) === true) continue;
    if (!action.parameters.includes(name)) {
      const hint = name.includes('.') ? `; ${name.slice(0, name.indexOf('.'))} is one JSON text, not an object` : '';
      throw new ApiError(
        ApiErrorCodes.InvalidParameter,
        `Unknown parameter ${JSON.stringify(name.slice(0, 64))} for ${actionName}${hint}: expected ${action.parameters.join(', ')}`,
      );
    }
    request[name] = value;
  }
  return request;
}
