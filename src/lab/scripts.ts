/**
 * The one small program the lab runs inside each pod namespace (and the external host's) with
 * plain `node` (no tsx, no build), written into the state dir as agent.mjs:
 *
 * - Listeners. Every TCP port answers a connection with one line
 *   `<identity> <peer-ip>:<peer-port>` and closes; every UDP port echoes
 *   `<identity> <peer-ip>:<peer-port> <payload>`. The identity tells the prober which pod
 *   answered (a Service backend, or a duplicate IP's wrong pod); the peer address shows SNAT.
 * - A prober. On a Unix socket in the state dir (reachable from the root namespace, while the
 *   agent's own sockets live in the pod's namespace) it takes probes as JSON lines — TCP connect,
 *   UDP echo, ping — runs them from inside the pod and answers one JSON line each. Keeping the
 *   prober in the long-lived agent spares starting a node process per source on every probe run.
 *
 * The source is kept free of backslashes and `${` so it survives this template literal verbatim.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const AGENT_FILE = 'agent.mjs';

export const AGENT_SOURCE = `// caliscope lab agent: listeners and prober of one pod (generated; see src/lab/scripts.ts)
import net from 'node:net';
import dgram from 'node:dgram';
import fs from 'node:fs';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const NL = String.fromCharCode(10);
const fail = (what, e) => { process.stderr.write(what + ': ' + (e && e.message) + NL); process.exit(1); };
let pending = cfg.ports.length + 1;
const ready = () => { if (--pending === 0) fs.writeFileSync(cfg.readyFile, String(process.pid)); };

// ---- listeners
for (const p of cfg.ports) {
  if (p.protocol === 'TCP') {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      s.end(cfg.identity + ' ' + s.remoteAddress + ':' + s.remotePort + NL);
    });
    srv.on('error', (e) => fail('tcp ' + p.containerPort, e));
    srv.listen({ port: p.containerPort, host: '0.0.0.0', backlog: 511 }, ready);
  } else {
    const sock = dgram.createSocket('udp4');
    sock.on('error', (e) => fail('udp ' + p.containerPort, e));
    sock.on('message', (m, r) => {
      sock.send(cfg.identity + ' ' + r.address + ':' + r.port + ' ' + m.toString('utf8').slice(0, 200), r.port, r.address);
    });
    sock.bind(p.containerPort, '0.0.0.0', ready);
  }
}

// ---- prober
const parseBanner = (line) => {
  const [servedBy, seenFrom] = line.trim().split(' ');
  return { servedBy, seenFrom: seenFrom ? seenFrom.replace(/:[0-9]+$/, '') : undefined };
};
// A timer and an arrived packet can be due in the same loop turn, and timers run first:
// decide only after pending I/O had its turn (setImmediate runs after the poll phase).
const later = (fn) => () => setImmediate(fn);
function tcp(p) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let done = false, connected = false, buf = '', timer;
    const s = net.connect({ host: p.ip, port: p.port });
    const finish = (r) => { if (done) return; done = true; clearTimeout(timer); s.destroy(); resolve({ ...r, ms: Date.now() - t0 }); };
    timer = setTimeout(later(() => { if (!connected) finish({ connected, error: 'timeout' }); }), p.timeoutMs);
    s.on('connect', () => {
      connected = true;
      // The network answered; the listener gets its own time to send the banner.
      clearTimeout(timer);
      timer = setTimeout(later(() => finish({ connected, error: 'connected but no banner' })), p.timeoutMs);
    });
    s.on('data', (d) => { buf += d.toString('utf8'); if (buf.includes(NL)) finish({ connected, ...parseBanner(buf) }); });
    s.on('end', () => finish(buf ? { connected, ...parseBanner(buf) } : { connected, error: 'closed without banner' }));
    s.on('error', (e) => finish({ connected, error: e.code || e.message }));
  });
}
function udp(p) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let done = false;
    const s = dgram.createSocket('udp4');
    const finish = (r) => { if (done) return; done = true; clearTimeout(timer); try { s.close(); } catch {} resolve({ ...r, ms: Date.now() - t0 }); };
    const timer = setTimeout(later(() => finish({ error: 'timeout' })), p.timeoutMs);
    s.on('error', (e) => finish({ error: e.code || e.message }));
    s.on('message', (m) => finish({ connected: true, ...parseBanner(m.toString('utf8')) }));
    s.connect(p.port, p.ip, (e) => { if (e) return finish({ error: e.code || e.message }); s.send('probe ' + p.id, (e2) => { if (e2) finish({ error: e2.code || e2.message }); }); });
  });
}
// Pings run from one shell: forking a small shell is far cheaper than forking node.
let sh;
let pingSeq = 0;
const pings = new Map();
function shell() {
  if (sh) return sh;
  sh = spawn('sh', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  readline.createInterface({ input: sh.stdout }).on('line', (line) => {
    const m = /^([0-9]+) ([0-9]+) ?(.*)$/.exec(line);
    const done = m && pings.get(Number(m[1]));
    if (!done) return;
    pings.delete(Number(m[1]));
    done(m[2] === '0' ? { connected: true } : { error: m[3] || 'no reply' });
  });
  sh.on('close', () => { sh = undefined; for (const [k, done] of pings) { pings.delete(k); done({ error: 'ping shell exited' }); } });
  return sh;
}
function icmp(p) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const secs = String(Math.max(1, Math.round(p.timeoutMs / 1000)));
    const size = p.size ? ' -M do -s ' + Number(p.size) : '';
    const ip = String(p.ip).replace(/[^0-9.]/g, '');
    const seq = ++pingSeq;
    pings.set(seq, (r) => resolve({ ...r, ms: Date.now() - t0 }));
    shell().stdin.write('{ o=$(ping -n -c 1 -W ' + secs + size + ' ' + ip + ' 2>&1); c=$?; echo "' + seq +
      ' $c $(echo "$o" | grep -m1 -E "From |error|nreachable|Frag|too long|exceeded")"; } &' + NL);
  });
}
// Before a run: forget cached path MTUs (so every run measures the path as it is) and report the MTU.
function prepare() {
  try { fs.writeFileSync('/proc/sys/net/ipv4/route/flush', '1'); } catch {}
  let mtu;
  try { mtu = Number(fs.readFileSync('/sys/class/net/eth0/mtu', 'utf8').trim()); } catch {}
  return Promise.resolve({ connected: true, mtu, ms: 0 });
}
try { fs.unlinkSync(cfg.controlSocket); } catch {}
const control = net.createServer((conn) => {
  conn.on('error', () => {});
  readline.createInterface({ input: conn }).on('line', (line) => {
    let p;
    try { p = JSON.parse(line); } catch { return; }
    const run = p.kind === 'tcp' ? tcp : p.kind === 'udp' ? udp : p.kind === 'icmp' ? icmp : prepare;
    run(p).then((r) => { if (!conn.destroyed) conn.write(JSON.stringify({ id: p.id, ...r }) + NL); });
  });
});
control.on('error', (e) => fail('control socket', e));
control.listen(cfg.controlSocket, ready);
process.on('SIGTERM', () => process.exit(0));
`;

/** Where the agent of `netns` listens for probe requests (short: Unix socket paths are limited to 107 bytes). */
export function agentControlSocket(stateDir: string, netns: string): string {
  const p = path.join(stateDir, 'agents', `${createHash('sha1').update(netns).digest('hex').slice(0, 12)}.sock`);
  if (Buffer.byteLength(p) > 107) throw new Error(`state dir ${stateDir} is too long for the agents' Unix sockets (${p})`);
  return p;
}

/** Writes agent.mjs into the state dir (idempotent). Returns its path. */
export async function writeLabScripts(stateDir: string): Promise<{ agent: string }> {
  await fs.mkdir(stateDir, { recursive: true });
  const agent = path.join(stateDir, AGENT_FILE);
  await fs.writeFile(agent, AGENT_SOURCE);
  return { agent };
}
