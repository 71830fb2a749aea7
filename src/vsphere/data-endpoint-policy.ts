import { CldlError } from '../cldl-error.ts';
import { DataEndpointRejectedError } from './errors.ts';

/**
 * Which download endpoints may receive our API session token. The GET of a file's bytes carries
 * `vmware-api-session-id`, which is as good as the vCenter login itself while it lives, so an
 * endpoint must be (1) encrypted whenever the vCenter is: a plain `http:` endpoint of an `https:`
 * vCenter would put the token on the wire in clear text, and would skip the certificate pin, which
 * only TLS sockets have; and (2) the vCenter's own host AND port, or a `dataHosts` entry: another
 * port on the vCenter's host is another service, run by whoever could bind it.
 */
export class DataEndpointPolicy {
  readonly #vcenterProtocol: string;
  readonly #allowed: AllowedHost[];

  /** Throws CLDL_INVALID_ARGUMENT for a malformed `dataHosts` entry: better at start than at the first download. */
  constructor(vcenter: string, vcenterUrl: string, dataHosts: readonly string[]) {
    const vc = new URL(vcenterUrl);
    this.#vcenterProtocol = vc.protocol;
    this.#allowed = [{ hostname: vc.hostname, port: effectivePort(vc) }, ...dataHosts.map((entry) => parseDataHost(vcenter, entry))];
  }

  /** The parsed endpoint, or DataEndpointRejectedError naming the rule it breaks. */
  check(uri: string): URL {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new DataEndpointRejectedError(uri, 'malformed', 'it is not a URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.#vcenterProtocol === 'http:')) {
      throw new DataEndpointRejectedError(
        uri,
        'scheme',
        url.protocol === 'http:'
          ? 'a plain http: endpoint of an https: vCenter would receive the API session token in clear text'
          : `only https: endpoints are used${this.#vcenterProtocol === 'http:' ? ' (and http: ones, the vCenter being http:)' : ''}`,
      );
    }
    const port = effectivePort(url);
    // An entry without a port means the default port of this endpoint's scheme.
    const allowed = this.#allowed.map((a) => (a.port === '' ? { ...a, port: defaultPort(url) } : a));
    if (!allowed.some((a) => a.hostname === '*' || (a.hostname === url.hostname && (a.port === '*' || a.port === port)))) {
      throw new DataEndpointRejectedError(
        uri,
        'host',
        `it is not on an allowed host and port (${allowed.map((a) => (a.hostname === '*' ? '*' : `${a.hostname}:${a.port}`)).join(', ')}); ` +
          `add "${url.hostname}:${port}" to the vCenter's dataHosts setting if that host is trusted with the vCenter session`,
      );
    }
    return url;
  }
}

/** `port: ''` means the endpoint scheme's default port; `*` any port. */
interface AllowedHost {
  hostname: string;
  port: string;
}

const PORT = /^(?:[1-9]\d{0,4}|\*)$/;

/**
 * `*`, `host`, `host:port`, `host:*`, `[v6]`, `[v6]:port`, `[v6]:*`. Host names are normalised as
 * URLs normalise them (lower case, IDNA, canonical IP forms) so they compare with `URL.hostname`.
 */
function parseDataHost(vcenter: string, entry: string): AllowedHost {
  if (entry === '*') return { hostname: '*', port: '*' };
  const m = /^(\[[^\]]*\]|[^:[\]/@?#\s]+)(?::([^:]*))?$/.exec(entry);
  let hostname: string | undefined;
  if (m && (m[2] === undefined || (PORT.test(m[2]) && (m[2] === '*' || Number(m[2]) <= 65_535)))) {
    try {
      hostname = new URL(`https://${m[1]}`).hostname;
    } catch {
      hostname = undefined;
    }
  }
  if (hostname === undefined || hostname === '') {
    throw new CldlError(
      'CLDL_INVALID_ARGUMENT',
      `vCenter ${vcenter}: dataHosts entry "${entry}" is not a host, host:port or host:* ` +
        `(an IPv6 address in brackets: [fd00::1]:443), nor * for any host`,
    );
  }
  return { hostname, port: m![2] ?? '' };
}

function defaultPort(url: URL): string {
  return url.protocol === 'http:' ? '80' : '443';
}

function effectivePort(url: URL): string {
  return url.port === '' ? defaultPort(url) : url.port;
}
