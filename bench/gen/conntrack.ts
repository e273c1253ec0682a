/**
 * Synthetic but realistic `conntrack -L` output for a busy Calico node: pod-to-service TCP
 * (DNATed to pod backends), DNS over UDP to the cluster DNS service, nat-outgoing to the
 * internet (masqueraded to the node IP), node-to-pod health checks, some ICMP, some IPv6,
 * in the states and proportions a real table shows. Deterministic for a given seed.
 */

export interface ConntrackGenOptions {
  seed?: number;
  /** Print packets=/bytes= (nf_conntrack_acct=1). Default true. */
  accounting?: boolean;
  /** `ipv4     2 ` prefix (`-o extended`). Default false. */
  extended?: boolean;
  /** Append the stderr summary line. Default false. */
  summary?: boolean;
}

/** Small fast PRNG (mulberry32), so generated inputs are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TCP_STATES: [string, number, number][] = [
  // state, weight, typical timeout
  ['ESTABLISHED', 70, 432000],
  ['TIME_WAIT', 18, 120],
  ['SYN_SENT', 3, 120],
  ['CLOSE_WAIT', 3, 60],
  ['FIN_WAIT', 2, 120],
  ['CLOSE', 2, 10],
  ['LAST_ACK', 1, 30],
  ['SYN_RECV', 1, 60],
];
const TCP_TOTAL = TCP_STATES.reduce((a, s) => a + s[1], 0);

export interface ConntrackGenResult {
  text: string;
  lines: number;
  /** How many lines of each NAT kind were generated (for tests). */
  nat: { none: number; dnat: number; snat: number; both: number };
}

/** Generates `n` conntrack -L lines. */
export function generateConntrack(n: number, opts: ConntrackGenOptions = {}): ConntrackGenResult {
  const r = rng(opts.seed ?? 1);
  const acct = opts.accounting ?? true;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const nodeIp = '172.18.0.2';
  const pods = Array.from({ length: 4000 }, (_, i) => `10.244.${(i >> 6) & 255}.${(i & 63) + 2}`);
  const localPods = pods.slice(0, 110);
  const services = Array.from({ length: 600 }, (_, i) => `10.96.${Math.floor(i / 254)}.${(i % 254) + 1}`);
  const dnsSvc = '10.96.0.10';
  const dnsPods = ['10.244.0.5', '10.244.3.7'];
  const external = Array.from({ length: 300 }, (_, i) => `${52 + (i % 40)}.${(i * 7) & 255}.${(i * 13) & 255}.${(i * 29) & 255}`);
  const pods6 = Array.from({ length: 200 }, (_, i) => `fd00:10:244::${(i + 2).toString(16)}`);
  const nat = { none: 0, dnat: 0, snat: 0, both: 0 };
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const counters = (pk: number) => (acct ? ` packets=${pk} bytes=${pk * int(52, 1400)}` : '');
  const prefix4 = opts.extended ? 'ipv4     2 ' : '';
  const prefix6 = opts.extended ? 'ipv6     10 ' : '';

  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = r();
    const sport = int(32768, 60999);
    const mark = r() < 0.1 ? 0x40000 : 0;
    const use = 1;
    if (kind < 0.55) {
      // pod -> service (DNAT to a backend pod)
      let w = r() * TCP_TOTAL;
      let st = TCP_STATES[0];
      for (const s of TCP_STATES) if ((w -= s[1]) < 0) { st = s; break; }
      const src = pick(localPods);
      const svc = pick(services);
      const be = pick(pods);
      const dport = pick([80, 443, 8080, 5432, 6379]);
      const bport = dport === 80 || dport === 443 ? 8443 : dport;
      const unrepl = st[0] === 'SYN_SENT';
      const assured = st[0] !== 'SYN_SENT' && st[0] !== 'SYN_RECV';
      const pk = int(1, 5000);
      out[i] = `${prefix4}tcp      6 ${int(1, st[2])} ${st[0]} src=${src} dst=${svc} sport=${sport} dport=${dport}${counters(pk)}${unrepl ? ' [UNREPLIED]' : ''} src=${be} dst=${src} sport=${bport} dport=${sport}${counters(unrepl ? 0 : pk)}${assured ? ' [ASSURED]' : ''} mark=${mark} use=${use}`;
      nat.dnat++;
    } else if (kind < 0.8) {
      // DNS: pod -> kube-dns service, UDP, DNAT to a CoreDNS pod
      const src = pick(localPods);
      const be = pick(dnsPods);
      const replied = r() < 0.97;
      out[i] = `${prefix4}udp      17 ${int(1, 30)} src=${src} dst=${dnsSvc} sport=${sport} dport=53${counters(1)}${replied ? '' : ' [UNREPLIED]'} src=${be} dst=${src} sport=53 dport=${sport}${counters(replied ? 1 : 0)} mark=0 use=${use}`;
      nat.dnat++;
    } else if (kind < 0.9) {
      // nat-outgoing: pod -> internet, masqueraded to the node IP (sometimes with a new port)
      const src = pick(localPods);
      const dst = pick(external);
      const nport = r() < 0.2 ? int(32768, 60999) : sport;
      const pk = int(1, 200);
      out[i] = `${prefix4}tcp      6 ${int(1, 432000)} ESTABLISHED src=${src} dst=${dst} sport=${sport} dport=443${counters(pk)} src=${dst} dst=${nodeIp} sport=443 dport=${nport}${counters(pk)} [ASSURED] mark=0 use=${use}`;
      nat.snat++;
    } else if (kind < 0.95) {
      // kubelet -> pod health check, no NAT
      const dst = pick(localPods);
      out[i] = `${prefix4}tcp      6 ${int(1, 120)} TIME_WAIT src=${nodeIp} dst=${dst} sport=${sport} dport=8080${counters(6)} src=${dst} dst=${nodeIp} sport=8080 dport=${sport}${counters(4)} [ASSURED] mark=0 use=${use}`;
      nat.none++;
    } else if (kind < 0.97) {
      const src = pick(localPods);
      const dst = pick(pods);
      const id = int(1, 65535);
      out[i] = `${prefix4}icmp     1 ${int(1, 30)} src=${src} dst=${dst} type=8 code=0 id=${id}${counters(1)} src=${dst} dst=${src} type=0 code=0 id=${id}${counters(1)} mark=0 use=${use}`;
      nat.none++;
    } else if (kind < 0.99) {
      const src = pick(pods6);
      const dst = pick(pods6);
      out[i] = `${prefix6}tcp      6 ${int(1, 432000)} ESTABLISHED src=${src} dst=${dst} sport=${sport} dport=80${counters(3)} src=${dst} dst=${src} sport=80 dport=${sport}${counters(3)} [ASSURED] mark=0 use=${use}`;
      nat.none++;
    } else {
      // NodePort from outside: DNAT to a pod and SNAT to the node (externalTrafficPolicy=Cluster)
      const client = pick(external);
      const be = pick(pods);
      out[i] = `${prefix4}tcp      6 ${int(1, 432000)} ESTABLISHED src=${client} dst=${nodeIp} sport=${sport} dport=30080${counters(4)} src=${be} dst=${nodeIp} sport=8080 dport=${int(1024, 65535)}${counters(4)} [ASSURED] mark=0 use=${use}`;
      nat.both++;
    }
  }
  let text = out.join('\n') + '\n';
  if (opts.summary) text += `conntrack v1.4.7 (conntrack-tools): ${n} flow entries have been shown.\n`;
  return { text, lines: n, nat };
}
