/**
 * Synthetic but realistic `ipset save` output of a Felix-programmed node: many selector sets
 * (hash:net of pod IPs), named-port sets (hash:ip,port), the IPAM pool / host / VXLAN sets,
 * a few IPv6 sets, in the shapes Felix creates them. Deterministic for a given seed.
 */
import { rng } from './conntrack.js';

export interface IpsetGenResult {
  text: string;
  members: number;
  sets: string[];
  /** Membership queries mixing hits and misses: [setName, ip, proto?, port?]. */
  queries: [string, string, string | undefined, number | undefined][];
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function fakeId(r: () => number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += B64[Math.floor(r() * 64)];
  return s;
}

/** Generates about `totalMembers` members across Felix-style sets, plus `queryCount` queries. */
export function generateFelixIpsets(totalMembers: number, queryCount = 100_000, seed = 7): IpsetGenResult {
  const r = rng(seed);
  const lines: string[] = [];
  const opts4 = 'family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x1badcafe';
  const opts6 = 'family inet6 hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x1badcafe';
  const sets: string[] = [];
  const membersOf = new Map<string, string[]>();
  let members = 0;
  const add = (set: string, m: string) => {
    lines.push(`add ${set} ${m}`);
    membersOf.get(set)!.push(m);
    members++;
  };
  const create = (set: string, type: string, opts = opts4) => {
    lines.push(`create ${set} ${type} ${opts}`);
    sets.push(set);
    membersOf.set(set, []);
  };
  const podIp = (i: number) => `10.244.${(i >> 8) & 255}.${i & 255}`;

  create('cali40all-ipam-pools', 'hash:net');
  add('cali40all-ipam-pools', '10.244.0.0/16');
  create('cali40masq-ipam-pools', 'hash:net');
  add('cali40masq-ipam-pools', '10.244.0.0/16');
  create('cali40all-hosts-net', 'hash:net');
  for (let i = 0; i < 500; i++) add('cali40all-hosts-net', `172.18.${Math.floor(i / 254)}.${(i % 254) + 1}`);
  create('cali40all-vxlan-net', 'hash:net');
  for (let i = 0; i < 500; i++) add('cali40all-vxlan-net', `172.18.${Math.floor(i / 254)}.${(i % 254) + 1}`);
  create('cali40this-host', 'hash:ip');
  add('cali40this-host', '172.18.0.2');
  add('cali40this-host', '127.0.0.1');

  // Selector sets: a few huge (namespace-wide), many small (app labels); some with /26 blocks.
  let budget = totalMembers - members;
  const sizes: number[] = [];
  const big = Math.floor(budget * 0.5);
  sizes.push(Math.floor(big * 0.5), Math.floor(big * 0.3), Math.floor(big * 0.2));
  budget -= big;
  const named = Math.floor(budget * 0.2);
  budget -= named;
  while (budget > 0) {
    const s = Math.min(budget, 1 + Math.floor(r() * 400));
    sizes.push(s);
    budget -= s;
  }
  for (const size of sizes) {
    const set = `cali40s:${fakeId(r, 23)}`;
    create(set, 'hash:net');
    const base = Math.floor(r() * 60000);
    for (let i = 0; i < size; i++) add(set, podIp((base + i * 3) % 65536));
    if (r() < 0.1) add(set, `10.245.${Math.floor(r() * 256)}.0/26`);
  }
  // Named-port sets.
  let left = named;
  while (left > 0) {
    const set = `cali40n:${fakeId(r, 23)}`;
    create(set, 'hash:ip,port');
    const size = Math.min(left, 1 + Math.floor(r() * 300));
    const port = [80, 443, 8080, 9090, 53][Math.floor(r() * 5)];
    const proto = port === 53 ? 'udp' : 'tcp';
    const base = Math.floor(r() * 60000);
    for (let i = 0; i < size; i++) add(set, `${podIp((base + i * 7) % 65536)},${proto}:${port}`);
    left -= size;
  }
  // IPv6 selector set.
  create('cali60s:' + fakeId(r, 23), 'hash:net', opts6);
  const v6set = sets[sets.length - 1];
  for (let i = 0; i < 200; i++) add(v6set, `fd00:10:244::${(i + 2).toString(16)}`);

  const queries: IpsetGenResult['queries'] = [];
  for (let q = 0; q < queryCount; q++) {
    const set = sets[Math.floor(r() * sets.length)];
    const ms = membersOf.get(set)!;
    const hit = r() < 0.5 && ms.length > 0;
    const m = hit ? ms[Math.floor(r() * ms.length)] : undefined;
    if (set.startsWith('cali40n:')) {
      if (m) {
        const [ip, pp] = m.split(',');
        const [proto, port] = pp.split(':');
        queries.push([set, ip, proto, Number(port)]);
      } else queries.push([set, podIp(Math.floor(r() * 65536)), 'tcp', 8080]);
    } else if (set.startsWith('cali60')) {
      queries.push([set, m ?? `fd00:10:244::${Math.floor(r() * 65536).toString(16)}`, undefined, undefined]);
    } else {
      const ip = m ? m.replace(/\/\d+$/, '') : `10.${244 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
      queries.push([set, ip, undefined, undefined]);
    }
  }
  return { text: lines.join('\n') + '\n', members, sets, queries };
}
