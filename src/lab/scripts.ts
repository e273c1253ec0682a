/**
 * The two small programs the lab runs inside namespaces with plain `node` (no tsx, no build):
 * written into the state dir as .mjs files.
 *
 * - agent.mjs: a pod's listeners. Every TCP port answers a connection with one line
 *   `<identity> <peer-ip>:<peer-port>` and closes; every UDP port echoes
 *   `<identity> <peer-ip>:<peer-port> <payload>`. The identity tells the prober which pod
 *   answered (a Service backend, or a duplicate IP's wrong pod); the peer address shows SNAT.
 * - probe.mjs: runs probes given as JSON lines on stdin (TCP connect, UDP echo, ping), all at
 *   once as they arrive (the parent bounds how many are in flight), and prints one JSON line per
 *   result.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const AGENT_FILE = 'agent.mjs';
export const PROBE_FILE = 'probe.mjs';

export const AGENT_SOURCE = `// caliscope lab agent: listeners of one pod (generated; see src/lab/scripts.ts)
import net from 'node:net';
import dgram from 'node:dgram';
import fs from 'node:fs';
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let pending = cfg.ports.length;
const ready = () => { if (--pending <= 0) fs.writeFileSync(cfg.readyFile, String(process.pid)); };
const fail = (what, e) => { process.stderr.write(what + ': ' + (e && e.message) + '\\n'); process.exit(1); };
for (const p of cfg.ports) {
  if (p.protocol === 'TCP') {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      s.end(cfg.identity + ' ' + s.remoteAddress + ':' + s.remotePort + '\\n');
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
if (cfg.ports.length === 0) { pending = 1; ready(); }
process.on('SIGTERM', () => process.exit(0));
`;

export const PROBE_SOURCE = `// caliscope lab prober (generated; see src/lab/scripts.ts)
import net from 'node:net';
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const parseBanner = (line) => {
  const [servedBy, seenFrom] = line.trim().split(' ');
  return { servedBy, seenFrom: seenFrom ? seenFrom.replace(/:\\d+$/, '') : undefined };
};
function tcp(p) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let done = false, connected = false, buf = '';
    const s = net.connect({ host: p.ip, port: p.port });
    const finish = (r) => { if (done) return; done = true; clearTimeout(timer); s.destroy(); resolve({ ...r, ms: Date.now() - t0 }); };
    const timer = setTimeout(() => finish(connected ? { connected, error: 'connected but no banner' } : { connected, error: 'timeout' }), p.timeoutMs);
    s.on('connect', () => { connected = true; });
    s.on('data', (d) => { buf += d.toString('utf8'); if (buf.includes('\\n')) finish({ connected, ...parseBanner(buf) }); });
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
    const timer = setTimeout(() => finish({ error: 'timeout' }), p.timeoutMs);
    s.on('error', (e) => finish({ error: e.code || e.message }));
    s.on('message', (m) => finish({ connected: true, ...parseBanner(m.toString('utf8')) }));
    s.connect(p.port, p.ip, (e) => { if (e) return finish({ error: e.code || e.message }); s.send('probe ' + p.id, (e2) => { if (e2) finish({ error: e2.code || e2.message }); }); });
  });
}
function icmp(p) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const secs = String(Math.max(1, Math.round(p.timeoutMs / 1000)));
    const args = ['-n', '-c', '1', '-W', secs];
    if (p.size) args.push('-M', 'do', '-s', String(p.size));
    args.push(p.ip);
    let text = '';
    let child;
    try { child = spawn('ping', args, { stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) { resolve({ error: 'ping: ' + e.message, ms: 0 }); return; }
    child.stdout.on('data', (d) => { text += d; });
    child.stderr.on('data', (d) => { text += d; });
    child.on('error', (e) => resolve({ error: 'ping: ' + e.message, ms: Date.now() - t0 }));
    child.on('close', (code) => {
      const lines = text.split('\\n').map((l) => l.trim()).filter(Boolean);
      const why = lines.find((l) => /From |error|nreachable|Frag|too long|exceeded/.test(l));
      resolve(code === 0 ? { connected: true, ms: Date.now() - t0 } : { error: why || 'no reply', ms: Date.now() - t0 });
    });
  });
}
const rl = readline.createInterface({ input: process.stdin });
let inflight = 0, closed = false;
const maybeExit = () => { if (closed && inflight === 0) process.exit(0); };
rl.on('line', (line) => {
  if (!line.trim()) return;
  const p = JSON.parse(line);
  inflight++;
  const run = p.kind === 'tcp' ? tcp : p.kind === 'udp' ? udp : icmp;
  run(p).then((r) => { out({ id: p.id, ...r }); inflight--; maybeExit(); });
});
rl.on('close', () => { closed = true; maybeExit(); });
`;

/** Writes agent.mjs and probe.mjs into the state dir (idempotent). Returns their paths. */
export async function writeLabScripts(stateDir: string): Promise<{ agent: string; probe: string }> {
  await fs.mkdir(stateDir, { recursive: true });
  const agent = path.join(stateDir, AGENT_FILE);
  const probe = path.join(stateDir, PROBE_FILE);
  await fs.writeFile(agent, AGENT_SOURCE);
  await fs.writeFile(probe, PROBE_SOURCE);
  return { agent, probe };
}
