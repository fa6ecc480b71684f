/**
 * What the low-level API reads: a local file path, or an `https:`/`http:` URL
 * (a string or a URL object) that the native core reads by bounded range
 * requests (native/remote_reader.h). A URL never appears whole in a message
 * or a log: its query (a presigned URL's signature) and any user name are
 * left out.
 */
import { isIP } from 'node:net';

import { ErrorCodes, SnapshotError } from './errors.js';
import type { NativeRemoteOptions } from './native.js';
import { expectBoolean, expectPath, invalid } from './validate.js';

/** The network options of every low-level call; unused for a local file. */
export interface NetworkOptions {
  /**
   * Allow requests to loopback, private (10/8, 172.16/12, 192.168/16, CGNAT),
   * link-local (169.254/16, the cloud metadata address) and unique-local
   * (fc00::/7) addresses: `true` for any host, or a list of the hosts allowed
   * there (as written in the URL, e.g. `['minio.internal', '127.0.0.1']`; a
   * redirect to any other private host is refused). Off by default: a URL is
   * a request made on a user's behalf, and those addresses reach what the
   * user should not.
   */
  allowPrivateNetwork?: boolean | readonly string[];
  /** A PEM file of the certificate authorities to trust instead of the system's (a private CA). */
  caFile?: string;
}

export const NETWORK_OPTION_NAMES = ['allowPrivateNetwork', 'caFile'] as const;

/** A resolved input: `path` is what the native core opens, a file's path or a URL. */
export interface ResolvedInput {
  readonly path: string;
  readonly url: boolean;
  /** How messages name the input: the path, or the URL without its query, fragment and user name. */
  readonly subject: string;
}

/** `scheme://` at the start: a URL rather than a file path (a path with a colon stays a path). */
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The URL as messages show it: scheme, host, port and path only. */
export function urlSubject(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function toUrl(name: string, value: string | URL): URL {
  let url: URL;
  try {
    url = value instanceof URL ? new URL(value.href) : new URL(value);
  } catch {
    // The text may hold a signature: say what it is, not what it says.
    throw new SnapshotError(ErrorCodes.InvalidParameter, `${name} is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      `${name} is a URL of scheme ${url.protocol}; only https: and http: URLs are read (or give a file path)`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new SnapshotError(ErrorCodes.InvalidParameter, `${name} holds a user name or password; credentials in URLs are not sent`);
  }
  if (url.href.includes('\0')) throw new SnapshotError(ErrorCodes.InvalidParameter, `${name} contains a NUL byte`);
  return url;
}

/** The network options in an options object already checked for unknown keys. */
export function resolveNetworkOptions(options: Record<string, unknown>): NativeRemoteOptions {
  const allow = options['allowPrivateNetwork'];
  const caFile = options['caFile'];
  return Object.freeze({
    allowPrivateNetwork: allow === undefined ? false : expectAllowPrivateNetwork(allow),
    ...(caFile === undefined ? {} : { caFile: expectPath('caFile', caFile) }),
  });
}

const MAX_ALLOWED_HOSTS = 100;
/** A host name as DNS allows it (IP addresses: isIP). */
const HOST_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

function expectAllowPrivateNetwork(value: unknown): boolean | readonly string[] {
  if (!Array.isArray(value)) return expectBoolean('allowPrivateNetwork', value);
  const expected = `true, false, or an array of 1 to ${MAX_ALLOWED_HOSTS} host names`;
  if (value.length === 0 || value.length > MAX_ALLOWED_HOSTS) throw invalid(expected, 'allowPrivateNetwork', value);
  return Object.freeze(
    Array.from(value as unknown[], (host, index) => {
      if (typeof host !== 'string' || host.length > 253 || (isIP(host) === 0 && !HOST_NAME.test(host))) {
        throw invalid('a host name or IP address (without brackets or port)', `allowPrivateNetwork[${index}]`, host);
      }
      return host;
    }),
  );
}

/**
 * A path or URL argument: a URL object or a string starting `scheme://` is a
 * URL (https: or http: only), anything else a file path.
 */
export function resolveInput(name: string, value: unknown): ResolvedInput {
  if (value instanceof URL || (typeof value === 'string' && URL_LIKE.test(value))) {
    const url = toUrl(name, value);
    return Object.freeze({ path: url.href, url: true, subject: urlSubject(url) });
  }
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw invalid('a non-empty file path without NUL bytes, or an https: or http: URL,', name, value);
  }
  return Object.freeze({ path: value, url: false, subject: value });
}

/**
 * The native call's `remote` option for `input`: the network options for a
 * URL (with `reuseKey`, the calls that share it share one open of the URL),
 * none for a file.
 */
export function remoteFor(input: ResolvedInput, network: NativeRemoteOptions, reuseKey?: string): { remote?: NativeRemoteOptions } {
  if (!input.url) return {};
  return { remote: reuseKey === undefined ? network : { ...network, reuseKey } };
}
