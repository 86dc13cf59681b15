// Which network addresses are "public": the only ones renewd sends webhooks to (issue 16, SSRF).
// A webhook URL is chosen by whoever holds an admin key, and a delivery's status and the start of
// the answer are readable back through the API: without this check renewd would be a port scanner
// and response reader for its own network (the database, its own API, the cloud metadata service).
//
// The check is on addresses, never on the spelling of a URL: the WHATWG URL parser already turns
// decimal, octal and hex IPv4 forms (2130706433, 0177.0.0.1, 0x7f000001) into dotted quads, and a
// name is judged by what it resolves to, at every connection (DNS rebinding): `guardedLookup` is
// the resolver handed to the socket, so the address checked is the address connected to.
import dns from 'node:dns';
import net from 'node:net';

/** Why an address is not public; null for a public one. */
export type AddressClass =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared (carrier-grade NAT)'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'IPv4-mapped IPv6';

/** Classes a development setting may allow (RENEWD_WEBHOOK_ALLOW_PRIVATE); the rest never reach a host. */
const PRIVATE_CLASSES = new Set<AddressClass>(['loopback', 'private', 'shared (carrier-grade NAT)', 'link-local', 'reserved', 'IPv4-mapped IPv6']);

export interface AddressPolicy {
  /** Allow loopback, private, link-local… targets (development and tests). */
  allowPrivate: boolean;
  /** Resolver (default: the system's, all addresses). Tests inject names. */
  resolve?: (hostname: string) => Promise<{ address: string; family: number }[]>;
}

export class AddressRefusedError extends Error {
  readonly code = 'EADDRREFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefusedError';
  }
}

// [first address as an integer, prefix length, class]
const V4_RANGES: [number, number, AddressClass][] = [
  [v4('0.0.0.0'), 8, 'unspecified'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'shared (carrier-grade NAT)'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'], // includes the metadata service 169.254.169.254
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.0.0.0'), 24, 'reserved'],
  [v4('192.0.2.0'), 24, 'reserved'],
  [v4('192.88.99.0'), 24, 'reserved'],
  [v4('192.168.0.0'), 16, 'private'],
  [v4('198.18.0.0'), 15, 'reserved'],
  [v4('198.51.100.0'), 24, 'reserved'],
  [v4('203.0.113.0'), 24, 'reserved'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('255.255.255.255'), 32, 'broadcast'],
  [v4('240.0.0.0'), 4, 'reserved'],
];

function v4(ip: string): number {
  return ip.split('.').reduce((n, b) => n * 256 + Number(b), 0);
}

function classifyV4(n: number): AddressClass | null {
  for (const [base, prefix, cls] of V4_RANGES) {
    const size = 2 ** (32 - prefix);
    if (n >= base && n < base + size) return cls;
  }
  return null;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted quad and a zone allowed). */
function v6Words(ip: string): number[] {
  let s = ip.split('%')[0];
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (quad) {
    const n = v4(quad[2]);
    s = `${quad[1]}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = s.includes('::') ? 8 - h.length - t.length : 0;
  return [...h, ...Array<string>(fill).fill('0'), ...t].map((w) => parseInt(w, 16));
}

function classifyV6(w: number[]): AddressClass | null {
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  const embedded = (hi: number, lo: number) => hi * 65536 + lo;
  if (zeros(0, 8)) return 'unspecified';
  if (zeros(0, 7) && w[7] === 1) return 'loopback';
  if (zeros(0, 5) && w[5] === 0xffff) return 'IPv4-mapped IPv6';
  if (zeros(0, 6)) return 'reserved'; // IPv4-compatible (deprecated)
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) return classifyV4(embedded(w[6], w[7])); // NAT64
  if (w[0] === 0x2002) return classifyV4(embedded(w[1], w[2])); // 6to4
  if ((w[0] & 0xfe00) === 0xfc00) return 'private'; // unique local fc00::/7
  if ((w[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((w[0] & 0xffc0) === 0xfec0) return 'private'; // site-local (deprecated)
  if ((w[0] & 0xff00) === 0xff00) return 'multicast';
  if (w[0] === 0x2001 && (w[1] === 0 || w[1] === 0xdb8)) return 'reserved'; // Teredo, documentation
  if (w[0] === 0x100 && zeros(1, 4)) return 'reserved'; // discard-only
  return null;
}

/** The class of an IP address (IPv4 or IPv6, brackets allowed), null when it is public. Throws on a non-address. */
export function addressClass(ip: string): AddressClass | null {
  const bare = ip.replace(/^\[(.*)\]$/, '$1');
  const family = net.isIP(bare.split('%')[0]);
  if (family === 4) return classifyV4(v4(bare));
  if (family === 6) return classifyV6(v6Words(bare));
  throw new Error(`not an IP address: ${ip}`);
}

/** Null when the policy allows the address, else the reason it is refused. */
export function refusal(ip: string, policy: AddressPolicy): string | null {
  const cls = addressClass(ip);
  if (cls === null) return null;
  if (policy.allowPrivate && PRIVATE_CLASSES.has(cls)) return null;
  return `${cls} address`;
}

/** A host written as an IP address (IPv6 in brackets or not), which no resolver is asked about. */
export function isIpLiteral(hostname: string): boolean {
  return net.isIP(hostname.replace(/^\[(.*)\]$/, '$1')) !== 0;
}

function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

const systemResolve = async (hostname: string) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/**
 * Resolves `hostname` and checks every address it has (a name with one private address among
 * public ones is refused: which one a client picks is not ours to know). Returns the checked
 * addresses; throws AddressRefusedError.
 */
export async function resolvePublic(hostname: string, policy: AddressPolicy): Promise<{ address: string; family: number }[]> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIpLiteral(host)) {
    const why = refusal(host, policy);
    if (why) throw new AddressRefusedError(`${host} is a ${why}`);
    return [{ address: host, family: net.isIP(host.split('%')[0]) }];
  }
  if (isLocalhostName(host) && !policy.allowPrivate) throw new AddressRefusedError(`${host} names this machine (loopback)`);
  const found = await (policy.resolve ?? systemResolve)(host);
  if (found.length === 0) throw new AddressRefusedError(`${host} has no address`);
  for (const a of found) {
    const why = refusal(a.address, policy);
    // The address itself is not told: it would tell the caller about the internal DNS.
    if (why) throw new AddressRefusedError(`${host} resolves to a ${why}`);
  }
  return found;
}

/**
 * The URL's host is public (or allowed by the policy). A name that does not resolve (yet) is
 * accepted: `guardedLookup` judges it again at every connection.
 */
export async function checkUrlHost(url: URL, policy: AddressPolicy): Promise<void> {
  try {
    await resolvePublic(url.hostname, policy);
  } catch (err) {
    if (err instanceof AddressRefusedError) throw err;
    // ENOTFOUND and the like: nothing to judge now.
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:net / node:http: resolves once, refuses unless every address is allowed,
 * and hands the socket exactly the addresses checked (so a name cannot answer a public address
 * to the check and a private one to the connection).
 */
export function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: dns.LookupOptions | number | undefined, callback: LookupCallback) => {
    const all = typeof options === 'object' && options !== null && options.all === true;
    const wanted = typeof options === 'object' && options !== null ? options.family : options;
    resolvePublic(hostname, policy).then(
      (found) => {
        const fam = wanted === 'IPv4' ? 4 : wanted === 'IPv6' ? 6 : wanted;
        const usable = fam ? found.filter((a) => a.family === fam) : found;
        if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${fam} address`), { code: 'ENOTFOUND' }), '', 0);
        if (all) callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
        else callback(null, usable[0].address, usable[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
