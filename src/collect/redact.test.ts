import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BundleWriter } from './bundle-writer.js';
import { BundleSink } from './sink.js';
import { isSecretKey, REDACTED, redactObject, redactText } from './redact.js';

// One instance of every secret type (none of them real).
const S = {
  pemKey: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDseeded0001\n-----END PRIVATE KEY-----',
  pemCert: '-----BEGIN CERTIFICATE-----\nMIIDseededCERT0002xyz\n-----END CERTIFICATE-----',
  jwt: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWVkZWQtMDAwMyJ9.c2lnbmF0dXJlLXNlZWRlZC0wMDAz',
  bearer: 'SeededOpaqueBearer0004abcdefghijkl',
  basic: 'dXNlcjpzZWVkZWQwMDA1',
  wgPrivate: 'WGseededPrivKey0006aaaaaaaaaaaaaaaaaaaaaaaa=',
  wgPublic: 'WGpublicKeyIsFine0007bbbbbbbbbbbbbbbbbbbbbbb=',
  bgpPassword: 'seeded-bgp-0008',
  secretData: 'c2VlZGVkLXNlY3JldC0wMDA5',
  stringData: 'seeded-string-data-0010',
  clientKeyData: Buffer.from('-----BEGIN EC PRIVATE KEY-----\nseeded0011\n-----END EC PRIVATE KEY-----').toString('base64'),
  clientCertData: Buffer.from('-----BEGIN CERTIFICATE-----\nseeded0012\n-----END CERTIFICATE-----').toString('base64'),
  kubeToken: 'seeded-kubeconfig-token-0013',
  aws: 'AKIASEEDEDKEY0014XYZ',
  github: `ghp_${'s'.repeat(20)}eeded0015abcdefghij`,
  slack: 'xoxb-seeded-0016-abcdefghijkl',
  urlPassword: 'seededUrlPw0017',
  envPassword: 'seeded-env-0018',
  lastApplied: 'seeded-last-applied-0019',
  etcdKey: 'seeded-etcd-key-0020',
  bootstrap: 'abc123.0123456789abcdef',
};

const seededLog = [
  `time=x level=info msg="loaded key" pem="${S.pemKey.replace(/\n/g, '\\n')}"`,
  S.pemCert,
  `token=${S.jwt}`,
  `GET /api HTTP/1.1\r\nAuthorization: Bearer ${S.bearer}\r\n`,
  `proxy said Proxy-Authorization: Basic ${S.basic}`,
  `[Interface]\nPrivateKey = ${S.wgPrivate}\n[Peer]\nPublicKey = ${S.wgPublic}`,
  `bgp neighbor 10.0.0.1 password: "${S.bgpPassword}"`,
  `client-key-data: ${S.clientKeyData}`,
  `client-certificate-data: ${S.clientCertData}`,
  `  token: ${S.kubeToken}`,
  `aws_access_key_id=${S.aws}`,
  `git clone https://${S.github}@github.com/x/y`,
  `slack ${S.slack}`,
  `etcd endpoints https://calico:${S.urlPassword}@10.0.0.5:2379`,
  `--etcd-key=${S.etcdKey}`,
  `kubeadm join --token ${S.bootstrap}`,
].join('\n');

const secretObjects = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'x' }, type: 'Opaque', data: { password: S.secretData }, stringData: { note: S.stringData } },
    { apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPPeer', metadata: { name: 'p' }, spec: { peerIP: '10.0.0.1', password: S.bgpPassword } },
    { apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPPeer', metadata: { name: 'q' }, spec: { password: { secretKeyRef: { name: 'bgp', key: 'pw' } } } },
    { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n' }, spec: { wireguard: { interfaceIPv4Address: '10.0.0.9' } }, status: { wireguardPublicKey: S.wgPublic } },
    { apiVersion: 'x/v1', kind: 'Thing', metadata: { name: 't' }, spec: { wireguardPrivateKey: S.wgPrivate, tokenFile: '/var/run/secrets/token', clientKeyData: S.clientKeyData } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Secret', data: { pw: S.lastApplied } }),
        },
      },
      spec: {
        containers: [
          {
            name: 'c',
            env: [
              { name: 'DB_PASSWORD', value: S.envPassword },
              { name: 'LOG_LEVEL', value: 'info' },
              { name: 'SA_TOKEN', value: S.jwt },
            ],
            args: [`--authorization=Bearer ${S.bearer}`],
          },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'Config', users: [{ name: 'u', user: { 'client-certificate-data': S.clientCertData, 'client-key-data': S.clientKeyData, token: S.kubeToken } }] },
  ],
};

const MUST_GO = Object.entries(S).filter(([k]) => k !== 'wgPublic');

describe('redactText', () => {
  it('removes one instance of every secret type from free text', () => {
    const r = redactText(seededLog);
    for (const [what, v] of MUST_GO) if (seededLog.includes(v)) expect(r.value.includes(v), what).toBe(false);
    expect(r.value).toContain(S.wgPublic);
    expect(r.count).toBeGreaterThanOrEqual(14);
    expect(r.value).toContain('Authorization: Bearer <redacted>');
    expect(r.value).toContain('-----BEGIN CERTIFICATE-----<redacted>-----END CERTIFICATE-----');
    expect(r.value).toContain(`https://calico:${REDACTED}@10.0.0.5:2379`);
  });

  it('leaves ordinary command output alone', () => {
    const iptables = [
      '*filter',
      ':cali-FORWARD - [0:0]',
      '-A cali-fw-cali1234 -m comment --comment "cali:abcdEFGH1234" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU',
      'COMMIT',
    ].join('\n');
    const sysctl = 'net.ipv4.ip_forward = 1\nnet.ipv4.tcp_fastopen_key = 00000000-00000000-00000000-00000000\nnet.core.somaxconn = 4096';
    const json = '[{"ifname":"cali1234","key":"value","mtu":1450,"link_type":"ether","address":"ee:ee:ee:ee:ee:ee"}]';
    for (const t of [iptables, sysctl, json]) expect(redactText(t)).toEqual({ value: t, count: 0 });
    // Settings that name secrets but hold paths, references or booleans stay.
    for (const t of ['tokenFile: /var/run/secrets/token', 'automountServiceAccountToken: true', 'secretName: bgp-secrets', 'wireguardPublicKey: abc=']) expect(redactText(t).count, t).toBe(0);
  });

  it('never throws and never grows a secret back (random text)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const r = redactText(s);
        expect(typeof r.value).toBe('string');
        expect(redactText(r.value).value).toBe(r.value);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redactObject', () => {
  it('drops Secret data values, secret fields, secret env values and the secrets inside last-applied-configuration', () => {
    const r = redactObject(secretObjects);
    const text = JSON.stringify(r.value);
    for (const [what, v] of MUST_GO) if (JSON.stringify(secretObjects).includes(v)) expect(text.includes(v), what).toBe(false);
    const items = (r.value as typeof secretObjects).items as unknown as Record<string, any>[];
    expect(items[0].data).toEqual({ password: REDACTED });
    expect(items[0].stringData).toEqual({ note: REDACTED });
    expect(items[1].spec.password).toBe(REDACTED);
    expect(items[2].spec.password).toEqual({ secretKeyRef: { name: 'bgp', key: 'pw' } });
    expect(items[3].status.wireguardPublicKey).toBe(S.wgPublic);
    expect(items[4].spec.tokenFile).toBe('/var/run/secrets/token');
    expect(items[5].spec.containers[0].env[1].value).toBe('info');
    expect(JSON.parse(items[5].metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'])).toEqual({ apiVersion: 'v1', kind: 'Secret', data: { pw: REDACTED } });
    expect(r.count).toBeGreaterThanOrEqual(10);
  });

  it('knows secret key names in any casing, and not their file/reference cousins', () => {
    for (const k of ['password', 'Password', 'wireguardPrivateKey', 'client-key-data', 'client_certificate_data', 'token', 'bearerToken', 'apiKey', 'API_KEY', 'etcd-key', 'id-token', 'refresh-token', 'privateKey'])
      expect(isSecretKey(k), k).toBe(true);
    for (const k of ['wireguardPublicKey', 'tokenFile', 'passwordRef', 'secretName', 'keyFile', 'key', 'monkey', 'bypass', 'tokenExpirationSeconds', 'name'])
      expect(isSecretKey(k), k).toBe(false);
  });
});

describe('redaction through the real bundle writer', () => {
  it('no seeded secret survives anywhere in the bundle (files, manifest), and redacted files are marked', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'csf-redact-'));
    try {
      const w = await BundleWriter.create(dir, { kind: 'test' });
      const sink = new BundleSink(w);
      await sink.list('cluster/mixed.yaml', { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: secretObjects.items });
      await sink.text('nodes/n1/felix.log', seededLog, { command: `tail -c 1000 /var/log/felix.log`, stderr: `warning: Authorization: Bearer ${S.bearer}` });
      await sink.text('nodes/n1/ip-route.json', '[{"dst":"10.0.0.0/24","dev":"eth0"}]', { command: 'ip -j route' });
      sink.failure({ target: 'node/n1', command: `curl -H 'Authorization: Bearer ${S.bearer}'`, error: `401 for token ${S.jwt}` });
      sink.note(`kubeconfig token: ${S.kubeToken}`);
      const m = await w.finish();
      const all: string[] = [];
      const walk = (d: string) => {
        for (const e of readdirSync(d)) {
          const p = path.join(d, e);
          if (statSync(p).isDirectory()) walk(p);
          else all.push(readFileSync(p, 'utf8'));
        }
      };
      walk(dir);
      const text = all.join('\n');
      for (const [what, v] of MUST_GO) expect(text.includes(v), what).toBe(false);
      expect(text).toContain(S.wgPublic);
      const flags = Object.fromEntries(m.files.map((f) => [f.path, f.redacted ?? false]));
      expect(flags).toEqual({ 'cluster/mixed.yaml': true, 'nodes/n1/felix.log': true, 'nodes/n1/ip-route.json': false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
