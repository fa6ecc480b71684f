/**
 * Buckets in S3-compatible object storage (SPEC section 2,
 * docs/object-storage.md), through @aws-sdk/client-s3 and
 * @aws-sdk/s3-request-presigner: optional peer packages, loaded when the
 * service is configured with such a bucket, never otherwise.
 *
 * Inputs are checked with HeadObject when a job is planned, then read by the
 * native reader through a presigned GET URL made for that run (bounded range
 * requests; the URL lives in the in-process task only). Outputs are uploaded
 * whole with PutObject (atomic per object), each marked with an owner token
 * of its own (user metadata `framesnap-owner`), and removed with
 * DeleteObject when their job fails, while the object at the key still
 * carries that token (a later job's object at the key stays).
 *
 * The SDK's requests go to the operator's endpoint, whatever its address;
 * the native reader's are held to the network checks of any URL unless the
 * bucket says allowPrivateNetwork. Messages name buckets and keys, never an
 * endpoint's credentials or a presigned URL.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createRequire } from 'node:module';

import type * as S3 from '@aws-sdk/client-s3';
import type * as Presigner from '@aws-sdk/s3-request-presigner';

import { ErrorCodes, SnapshotError, shortenSubject } from '../../core/errors.js';
import { describe as describeValue, quoted } from '../../core/validate.js';
import type { JobTask, ObjectStoreBucket, ObjectStoreTarget, OutputBucket } from '../types.js';

const PACKAGES = '@aws-sdk/client-s3 @aws-sdk/s3-request-presigner';
const FIELDS = [
  'endpoint',
  'region',
  'accessKeyId',
  'secretAccessKey',
  'bucket',
  'forcePathStyle',
  'allowPrivateNetwork',
  'caFile',
  'presignExpiresSeconds',
] as const;
/** The longest a presigned input URL lives: one hour. */
export const MAX_PRESIGN_SECONDS = 3_600;
/** How much longer than a synchronous job's deadline its input URL lives. */
const PRESIGN_MARGIN_SECONDS = 60;
/** Bucket names as S3 allows them (dots too, for the store's own name). */
const STORE_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

interface Sdk {
  s3: typeof S3;
  presigner: typeof Presigner;
}

const requireModule = createRequire(import.meta.url);
let sdk: Sdk | undefined;

function loadPackage<T>(name: string): T {
  try {
    return requireModule(name) as T;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    if (failure.code === 'MODULE_NOT_FOUND' && String(failure.message).includes(`'${name}'`)) {
      throw new SnapshotError(ErrorCodes.InvalidParameter, `buckets in object storage need the ${name} package (npm install ${PACKAGES})`, {
        cause: error,
      });
    }
    throw new SnapshotError(ErrorCodes.InternalError, `cannot load ${name}: ${failure.message}`, { cause: error });
  }
}

/** The SDK, loaded on first use (the service loads it when it is configured with a bucket in object storage). */
export function loadObjectStoreSdk(): Sdk {
  sdk ??= {
    s3: loadPackage<typeof S3>('@aws-sdk/client-s3'),
    presigner: loadPackage<typeof Presigner>('@aws-sdk/s3-request-presigner'),
  };
  return sdk;
}

// ---- Configuration ---------------------------------------------------------------

function invalidField(bucket: string, field: string, expected: string, value: unknown): SnapshotError {
  // Never the secret's value, whatever it is.
  const shown = field === 'secretAccessKey' ? 'a value' : describeValue(value);
  return new SnapshotError(ErrorCodes.InvalidParameter, `buckets[${quoted(bucket)}].${field} must be ${expected}, not ${shown}`);
}

/**
 * Checks one entry of the buckets option that is an object store (an object
 * rather than a folder); returns a copy holding only its own known fields.
 */
export function parseObjectStoreBucket(name: string, given: object): ObjectStoreBucket {
  const fields = given as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    if (!(FIELDS as readonly string[]).includes(field)) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `buckets[${quoted(name)}] has an unknown field ${quoted(field)} (known: ${FIELDS.join(', ')})`,
      );
    }
  }
  const text = (field: 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey'): string => {
    const value = Object.hasOwn(fields, field) ? fields[field] : undefined;
    if (typeof value !== 'string' || value === '') throw invalidField(name, field, 'a non-empty string', value);
    return value;
  };
  const flag = (field: 'forcePathStyle' | 'allowPrivateNetwork'): boolean | undefined => {
    const value = Object.hasOwn(fields, field) ? fields[field] : undefined;
    if (value !== undefined && typeof value !== 'boolean') throw invalidField(name, field, 'true or false', value);
    return value;
  };
  const endpoint = text('endpoint');
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') {
    throw invalidField(name, 'endpoint', 'an http: or https: URL without credentials', endpoint);
  }
  const store: ObjectStoreBucket = {
    endpoint,
    region: text('region'),
    accessKeyId: text('accessKeyId'),
    secretAccessKey: text('secretAccessKey'),
  };
  const bucket = Object.hasOwn(fields, 'bucket') ? fields['bucket'] : undefined;
  if (bucket !== undefined) {
    if (typeof bucket !== 'string' || !STORE_BUCKET_NAME.test(bucket)) {
      throw invalidField(name, 'bucket', 'a bucket name (3-63 of a-z, 0-9, . and -)', bucket);
    }
    store.bucket = bucket;
  } else if (!STORE_BUCKET_NAME.test(name)) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      `buckets[${quoted(name)}]: the name is not a bucket name of the store (3-63 of a-z, 0-9, . and -); give the store's name in its bucket field`,
    );
  }
  const forcePathStyle = flag('forcePathStyle');
  if (forcePathStyle !== undefined) store.forcePathStyle = forcePathStyle;
  const allowPrivateNetwork = flag('allowPrivateNetwork');
  if (allowPrivateNetwork !== undefined) store.allowPrivateNetwork = allowPrivateNetwork;
  const caFile = Object.hasOwn(fields, 'caFile') ? fields['caFile'] : undefined;
  if (caFile !== undefined) {
    if (typeof caFile !== 'string' || caFile === '' || caFile.includes('\0')) {
      throw invalidField(name, 'caFile', 'a non-empty path without NUL bytes', caFile);
    }
    try {
      readFileSync(caFile);
    } catch (error) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `buckets[${quoted(name)}].caFile cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: error },
      );
    }
    store.caFile = caFile;
  }
  const expires = Object.hasOwn(fields, 'presignExpiresSeconds') ? fields['presignExpiresSeconds'] : undefined;
  if (expires !== undefined) {
    if (typeof expires !== 'number' || !Number.isInteger(expires) || expires < 0 || expires > MAX_PRESIGN_SECONDS) {
      throw invalidField(name, 'presignExpiresSeconds', `an integer 0..${MAX_PRESIGN_SECONDS}`, expires);
    }
    store.presignExpiresSeconds = expires;
  }
  return store;
}

export function isObjectStore(bucket: OutputBucket | undefined): bucket is ObjectStoreTarget {
  return bucket !== undefined && typeof bucket !== 'string';
}

/** The bucket's name in its store. */
function storeBucket(target: ObjectStoreTarget): string {
  return target.store.bucket ?? target.name;
}

/** An output object's identity: no file system path looks like it. */
export function objectIdentity(target: ObjectStoreTarget, key: string): string {
  return `s3:${target.store.endpoint}/${storeBucket(target)}/${key}`;
}

// ---- Clients -----------------------------------------------------------------------

/** One client per store configuration and thread: its connections are kept and reused. */
const clients = new Map<string, S3.S3Client>();

function clientFor(store: ObjectStoreBucket): S3.S3Client {
  const id = JSON.stringify([
    store.endpoint,
    store.region,
    store.accessKeyId,
    store.secretAccessKey,
    store.forcePathStyle === true,
    store.caFile ?? '',
  ]);
  let client = clients.get(id);
  if (client === undefined) {
    const { s3 } = loadObjectStoreSdk();
    client = new s3.S3Client({
      endpoint: store.endpoint,
      region: store.region,
      forcePathStyle: store.forcePathStyle === true,
      credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
      // Since 3.729 the SDK sends CRC32 checksums and aws-chunked uploads by
      // default, which OSS, R2 and others (Swift's s3api) refuse.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 10_000,
        requestTimeout: 60_000,
        ...(store.caFile === undefined ? {} : { httpsAgent: new Agent({ keepAlive: true, ca: readFileSync(store.caFile) }) }),
      },
    });
    clients.set(id, client);
  }
  return client;
}

// ---- Errors ------------------------------------------------------------------------

interface SdkFailure {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Requests that got no answer, worth another try. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'TimeoutError',
]);
/** Node's codes for a server certificate that is not trusted. */
const TLS_REFUSALS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'HOSTNAME_MISMATCH',
]);
/** The store's answers that say "try again". */
const TRANSIENT_ANSWERS = new Set(['RequestTimeout', 'SlowDown', 'ServiceUnavailable', 'InternalError', 'ThrottlingException']);

/** The subject of a request: an object in a bucket, or the bucket. */
interface Subject {
  target: ObjectStoreTarget;
  key?: string;
}

function bucketOf(subject: Subject): string {
  return `the bucket ${shortenSubject(subject.target.name)}`;
}

function objectOf(subject: Subject): string {
  return subject.key === undefined ? bucketOf(subject) : `the object ${shortenSubject(subject.key)}`;
}

/**
 * A failed SDK call as a SnapshotError with the SPEC's code: missing object
 * or bucket, denied access and bad credentials, network failures worth
 * retrying. The message names the bucket or key and the store's error code.
 */
export function objectStoreError(error: unknown, subject: Subject, writing = false): SnapshotError {
  if (error instanceof SnapshotError) return error;
  const failure = (error ?? {}) as SdkFailure;
  const status = failure.$metadata?.httpStatusCode;
  const name = failure.Code ?? failure.name ?? '';
  const code = failure.code ?? '';
  const cause = { cause: error };
  if (name === 'NoSuchBucket') return new SnapshotError(ErrorCodes.ResourceNotFound, `${bucketOf(subject)} does not exist`, cause);
  if (name === 'NoSuchKey' || (name === 'NotFound' && subject.key !== undefined && !writing)) {
    return new SnapshotError(ErrorCodes.ResourceNotFound, `${objectOf(subject)} does not exist`, cause);
  }
  if (name === 'NotFound') return new SnapshotError(ErrorCodes.ResourceNotFound, `${bucketOf(subject)} does not exist`, cause);
  if (name === 'SignatureDoesNotMatch') {
    return new SnapshotError(
      ErrorCodes.PermissionDenied,
      `the object store refused the signature of the requests for ${bucketOf(subject)} (SignatureDoesNotMatch): check its secretAccessKey`,
      cause,
    );
  }
  if (name === 'InvalidAccessKeyId') {
    return new SnapshotError(
      ErrorCodes.PermissionDenied,
      `the object store does not know the access key of ${bucketOf(subject)} (InvalidAccessKeyId): check its accessKeyId`,
      cause,
    );
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new SnapshotError(
      ErrorCodes.PermissionDenied,
      `the object store refused ${writing ? 'to write' : 'access to'} ${objectOf(subject)} in ${bucketOf(subject)} (${name === '' ? 'HTTP 403' : name})`,
      cause,
    );
  }
  if (status === undefined && (TLS_REFUSALS.has(code) || code.startsWith('ERR_TLS_'))) {
    return new SnapshotError(
      ErrorCodes.PermissionDenied,
      `the TLS certificate of the object store of ${bucketOf(subject)} is not trusted (${code}): give its certificate authority in caFile`,
      cause,
    );
  }
  if (status === undefined && (NETWORK_CODES.has(code) || NETWORK_CODES.has(name))) {
    // No answer at all: the connection failed or timed out.
    return new SnapshotError(
      ErrorCodes.TransientNetWorkError,
      `the object store of ${bucketOf(subject)} could not be reached (${code !== '' ? code : name})`,
      cause,
    );
  }
  if (TRANSIENT_ANSWERS.has(name) || (status !== undefined && (status >= 500 || status === 429))) {
    const why = [status === undefined ? '' : `HTTP ${status}`, name].filter((part) => part !== '').join(' ');
    return new SnapshotError(
      ErrorCodes.TransientNetWorkError,
      `the object store of ${bucketOf(subject)} failed ${writing ? 'to take' : 'to answer for'} ${objectOf(subject)} (${why}); try again`,
      cause,
    );
  }
  const why = [name, status === undefined ? '' : `HTTP ${status}`].filter((part) => part !== '').join(', ');
  return new SnapshotError(
    ErrorCodes.InternalError,
    `the object store failed a request for ${objectOf(subject)} in ${bucketOf(subject)} (${why === '' ? 'no answer' : why})`,
    cause,
  );
}

// ---- Inputs --------------------------------------------------------------------------

/**
 * Checks that the input object exists and may be read (HeadObject). A HEAD
 * answer has no body, so its 404 and 403 are told apart with a second
 * request: HeadBucket (is it the bucket that is missing?) or a one-byte
 * GetObject (whose error names the cause: AccessDenied, InvalidAccessKeyId,
 * SignatureDoesNotMatch).
 */
export async function checkInputObject(target: ObjectStoreTarget, key: string): Promise<void> {
  const { s3 } = loadObjectStoreSdk();
  const client = clientFor(target.store);
  const subject = { target, key };
  try {
    await client.send(new s3.HeadObjectCommand({ Bucket: storeBucket(target), Key: key }));
    return;
  } catch (error) {
    const status = (error as SdkFailure).$metadata?.httpStatusCode;
    if (status === 404) {
      await checkBucket(target);
      throw objectStoreError(error, subject);
    }
    if (status !== 403 && status !== 400) throw objectStoreError(error, subject);
  }
  try {
    const answer = await client.send(new s3.GetObjectCommand({ Bucket: storeBucket(target), Key: key, Range: 'bytes=0-0' }));
    await answer.Body?.transformToByteArray();
  } catch (error) {
    throw objectStoreError(error, subject);
  }
  // HEAD refused and GET allowed: the native reader's GETs will do.
}

/**
 * How long a bucket found by HeadBucket is taken to exist without asking
 * again: a bucket is rarely deleted, and a job's upload to a deleted one
 * still fails with ResourceNotFound (NoSuchBucket), only later.
 */
const BUCKET_FOUND_MS = 30_000;
/** Bucket identity (objectIdentity(target, '')) -> when its HeadBucket answer expires. */
const bucketsFound = new Map<string, number>();

/** Checks that a bucket exists (HeadBucket); a refused check is left to the job's own requests, which say why. */
export async function checkBucket(target: ObjectStoreTarget): Promise<void> {
  const { s3 } = loadObjectStoreSdk();
  const identity = objectIdentity(target, '');
  if ((bucketsFound.get(identity) ?? 0) > Date.now()) return;
  try {
    await clientFor(target.store).send(new s3.HeadBucketCommand({ Bucket: storeBucket(target) }));
    if (bucketsFound.size >= 1000) bucketsFound.clear();
    bucketsFound.set(identity, Date.now() + BUCKET_FOUND_MS);
  } catch (error) {
    const status = (error as SdkFailure).$metadata?.httpStatusCode;
    if (status === 403 || status === 400) return;
    throw objectStoreError(error, { target });
  }
}

/** A presigned GET URL for the input, alive `expiresSeconds`. */
export async function presignInput(target: ObjectStoreTarget, key: string, expiresSeconds: number): Promise<string> {
  const { s3, presigner } = loadObjectStoreSdk();
  try {
    return await presigner.getSignedUrl(clientFor(target.store), new s3.GetObjectCommand({ Bucket: storeBucket(target), Key: key }), {
      expiresIn: expiresSeconds,
    });
  } catch (error) {
    throw objectStoreError(error, { target, key });
  }
}

/** How long a job's input URL lives: its bucket's setting, else its deadline plus a margin, at most an hour. */
export function presignSeconds(store: ObjectStoreBucket, timeoutMs: number): number {
  if (store.presignExpiresSeconds !== undefined) return store.presignExpiresSeconds;
  if (timeoutMs <= 0) return MAX_PRESIGN_SECONDS;
  return Math.min(MAX_PRESIGN_SECONDS, Math.ceil(timeoutMs / 1000) + PRESIGN_MARGIN_SECONDS);
}

/** Whether a task has buckets in object storage to check (and an input URL to make) before it runs. */
export function needsObjectStore(task: JobTask): boolean {
  return task.inputStore !== undefined || isObjectStore(task.outputBucketDir) || isObjectStore(task.sprites?.bucketDir);
}

/** What preparing a task found: the input's URL and how the native reader may read it. */
export type PreparedInput = Pick<JobTask, 'inputPath' | 'inputRemote'>;

/** What prepareObjectStores does: check the buckets and the input object, make the input's URL. */
export interface PrepareSteps {
  check: boolean;
  presign: boolean;
}

/**
 * Prepares a task's buckets in object storage. With `check`, the input
 * object (HeadObject) and the output buckets (HeadBucket), so that a
 * submission is refused at once with a precise reason; with `presign`,
 * the input's URL for this run. Resolves with the input fields to set on
 * the task (none for a local input, or without `presign`).
 */
export async function prepareObjectStores(
  task: Pick<JobTask, 'inputStore' | 'inputKey' | 'outputBucketDir' | 'sprites' | 'timeoutMs'>,
  steps: PrepareSteps,
): Promise<PreparedInput | undefined> {
  if (steps.check) {
    const outputs = new Map<string, ObjectStoreTarget>();
    for (const bucket of [task.outputBucketDir, task.sprites?.bucketDir]) {
      if (isObjectStore(bucket)) outputs.set(objectIdentity(bucket, ''), bucket);
    }
    // All at once; the input's failure is the one told when both fail.
    const checks = await Promise.allSettled([
      task.inputStore === undefined ? undefined : checkInputObject(task.inputStore, task.inputKey),
      ...[...outputs.values()].map((target) => checkBucket(target)),
    ]);
    const failed = checks.find((check) => check.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
  if (task.inputStore === undefined || !steps.presign) return undefined;
  const store = task.inputStore.store;
  const inputPath = await presignInput(task.inputStore, task.inputKey, presignSeconds(store, task.timeoutMs));
  return {
    inputPath,
    inputRemote: {
      // The endpoint's own host only (as the URL names it: virtual-hosted style puts the bucket
      // in front): a redirect from it to any other private address is still refused.
      allowPrivateNetwork: store.allowPrivateNetwork === true ? [new URL(inputPath).hostname.replace(/^\[|\]$/g, '')] : false,
      ...(store.caFile === undefined ? {} : { caFile: store.caFile }),
    },
  };
}

// ---- Outputs -------------------------------------------------------------------------

/** The Content-Type of an output, from its bytes: a JPEG, PNG, WebP or AVIF image, or a WebVTT track. */
export function contentTypeOf(data: Uint8Array): string {
  const ascii = (start: number, end: number): string => Buffer.from(data.subarray(start, end)).toString('latin1');
  if (data[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (ascii(4, 8) === 'ftyp') return 'image/avif';
  if (ascii(0, 6) === 'WEBVTT') return 'text/vtt';
  return 'image/jpeg';
}

/** The user metadata (x-amz-meta-framesnap-owner) that tells an upload of a job from anyone else's object at its key. */
const OWNER_METADATA = 'framesnap-owner';

/**
 * Uploads an object whole (PutObject: it appears complete or not at all),
 * marked with `owner` (a token of this upload's own: see deleteOwnedObject).
 */
export async function putObject(target: ObjectStoreTarget, key: string, data: Uint8Array, owner: string): Promise<void> {
  const { s3 } = loadObjectStoreSdk();
  try {
    await clientFor(target.store).send(
      new s3.PutObjectCommand({
        Bucket: storeBucket(target),
        Key: key,
        Body: data,
        ContentLength: data.byteLength,
        ContentType: contentTypeOf(data),
        Metadata: { [OWNER_METADATA]: owner },
      }),
    );
  } catch (error) {
    throw objectStoreError(error, { target, key }, true);
  }
}

/**
 * Removes an object a job uploaded (or was uploading when its worker died),
 * while the object at the key is still that upload: its owner token is
 * `owner`. An object another job or anyone else put at the key since stays,
 * even with the same bytes (and so the same ETag). Resolves with the store's
 * error code when it could not be removed, else undefined.
 */
export async function deleteOwnedObject(target: ObjectStoreTarget, key: string, owner: string): Promise<string | undefined> {
  const { s3 } = loadObjectStoreSdk();
  const client = clientFor(target.store);
  try {
    const now = await client.send(new s3.HeadObjectCommand({ Bucket: storeBucket(target), Key: key }));
    if (now.Metadata?.[OWNER_METADATA] !== owner) return undefined;
    await client.send(new s3.DeleteObjectCommand({ Bucket: storeBucket(target), Key: key }));
    return undefined;
  } catch (error) {
    const failure = error as SdkFailure;
    if (failure.$metadata?.httpStatusCode === 404) return undefined;
    return failure.Code ?? failure.name ?? failure.code ?? 'error';
  }
}
