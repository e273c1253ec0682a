/**
 * Calico-specific policy semantics, table-driven. Each case cites the Calico documentation page
 * or source file it was written from (projectcalico/calico paths are at the snapshot described in
 * /work/shared/calico/felix-rules.md).
 */
import { describe, expect, it } from 'vitest';
import { type PolicyModel, buildPolicyModel, cellAllowed, reachabilityMatrix, runPolicyCheck } from '../../src/calico/policy/index.js';
import { clusterFromObjects, cnp, gnp, knp, ns, pod, sa, tier } from './cluster.js';

const DOCS = 'https://docs.tigera.io/calico/latest';

/** Two namespaces, four pods, service accounts with labels. */
function base(): Record<string, unknown>[] {
  return [
    ns('prod', { env: 'prod' }),
    ns('dev', { env: 'dev' }),
    sa('prod', 'web', { role: 'frontend-sa' }),
    sa('prod', 'db', { role: 'database' }),
    sa('dev', 'default'),
    pod('prod', 'web', { labels: { app: 'web' }, ip: '10.0.1.1', sa: 'web', ports: [{ name: 'http', containerPort: 8080 }] }),
    pod('prod', 'db', { labels: { app: 'db' }, ip: '10.0.1.2', sa: 'db', ports: [{ name: 'postgres', containerPort: 5432 }] }),
    pod('dev', 'client', { labels: { app: 'client' }, ip: '10.0.2.1', node: 'node-2' }),
    pod('dev', 'web', { labels: { app: 'web' }, ip: '10.0.2.2', node: 'node-2', ports: [{ name: 'http', containerPort: 80 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }),
  ];
}

interface DirExpect {
  verdict?: 'allow' | 'deny' | 'not-applicable';
  via?: string;
  tier?: string | null;
  policy?: string | null;
  rule?: number | null;
  action?: string;
  /** Substrings the trail must contain. */
  trail?: string[];
}

interface Flow {
  from: string;
  to: string;
  protocol: string;
  port?: number;
  icmpType?: number;
  icmpCode?: number;
  allowed: boolean;
  egress?: DirExpect;
  ingress?: DirExpect;
}

interface Case {
  name: string;
  /** Where the expected behaviour comes from. */
  source: string;
  objects: Record<string, unknown>[];
  flows: Flow[];
}

const CASES: Case[] = [
  {
    name: 'a Deny in an earlier tier wins over an Allow in the default tier',
    source: `${DOCS}/reference/resources/tier ("How policy is evaluated"); felix/calc/policy_sorter.go TierLess`,
    objects: [
      ...base(),
      tier('security', 100),
      gnp('security.block-client', { tier: 'security', order: 10, selector: "app == 'db'", ingress: [{ action: 'Deny', source: { selector: "app == 'client'" } }, { action: 'Pass' }] }),
      cnp('prod', 'allow-all-db', { selector: "app == 'db'", ingress: [{ action: 'Allow' }] }),
    ],
    flows: [
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { verdict: 'deny', via: 'policy', tier: 'security', policy: 'security.block-client', rule: 0, action: 'Deny' } },
      {
        from: 'prod/web',
        to: 'prod/db',
        protocol: 'TCP',
        port: 5432,
        allowed: true,
        ingress: { verdict: 'allow', tier: 'default', policy: 'prod/allow-all-db', rule: 0, trail: ['security.block-client rule 1 (Pass): matched → skip the rest of tier security'] },
      },
    ],
  },
  {
    name: 'a tier that selects the endpoint but decides nothing drops at its end (no Pass)',
    source: `${DOCS}/reference/resources/tier ("If the Tier applies to the endpoint, but takes no action on the packet the packet is dropped"); felix/rules/endpoints.go (End of tier … DROP)`,
    objects: [
      ...base(),
      tier('security', 100),
      gnp('security.block-client', { tier: 'security', order: 10, selector: "app == 'db'", ingress: [{ action: 'Deny', source: { selector: "app == 'client'" } }] }),
      cnp('prod', 'allow-all-db', { selector: "app == 'db'", ingress: [{ action: 'Allow' }] }),
    ],
    flows: [
      {
        from: 'prod/web',
        to: 'prod/db',
        protocol: 'TCP',
        port: 5432,
        allowed: false,
        ingress: { verdict: 'deny', via: 'end-of-tier', tier: 'security', policy: null, rule: null, trail: ["source selector `app == 'client'` does not match prod/web {app: web}", 'end of tier security'] },
      },
    ],
  },
  {
    name: 'tier defaultAction Pass: no decision in the tier continues with the next tier',
    source: `${DOCS}/reference/resources/tier (defaultAction); felix/rules/endpoints.go (no end-of-tier drop when defaultAction is Pass)`,
    objects: [
      ...base(),
      tier('security', 100, 'Pass'),
      gnp('security.block-client', { tier: 'security', order: 10, selector: "app == 'db'", ingress: [{ action: 'Deny', source: { selector: "app == 'client'" } }] }),
    ],
    flows: [
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { verdict: 'allow', via: 'profile', trail: ['tier defaultAction Pass → next tier', 'every tier passed the packet → profiles'] } },
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { verdict: 'deny', via: 'policy', policy: 'security.block-client' } },
    ],
  },
  {
    name: 'Deny before Allow by order (lower order first)',
    source: `${DOCS}/reference/resources/networkpolicy (spec.order); felix/calc/policy_sorter.go PolKVLess`,
    objects: [
      ...base(),
      cnp('prod', 'deny-client', { order: 100, selector: "app == 'db'", ingress: [{ action: 'Deny', source: { namespaceSelector: "env == 'dev'" } }] }),
      cnp('prod', 'allow-all', { order: 200, selector: "app == 'db'", ingress: [{ action: 'Allow' }] }),
    ],
    flows: [
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { policy: 'prod/deny-client', action: 'Deny' } },
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { policy: 'prod/allow-all', action: 'Allow' } },
    ],
  },
  {
    name: 'Allow before Deny when the Allow has the lower order',
    source: `${DOCS}/reference/resources/networkpolicy (spec.order); felix/calc/policy_sorter.go PolKVLess`,
    objects: [
      ...base(),
      cnp('prod', 'deny-client', { order: 300, selector: "app == 'db'", ingress: [{ action: 'Deny', source: { namespaceSelector: "env == 'dev'" } }] }),
      cnp('prod', 'allow-all', { order: 200, selector: "app == 'db'", ingress: [{ action: 'Allow' }] }),
    ],
    flows: [{ from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { policy: 'prod/allow-all' } }],
  },
  {
    name: 'a policy without order comes after every ordered policy',
    source: `${DOCS}/reference/resources/networkpolicy ("If the order is omitted, it may be considered to be infinite"); felix/calc/policy_sorter.go (polMetaDefaultOrder = +Inf)`,
    objects: [
      ...base(),
      cnp('prod', 'deny-all', { selector: "app == 'db'", ingress: [{ action: 'Deny' }] }),
      cnp('prod', 'allow-web', { order: 5000, selector: "app == 'db'", ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }] }),
    ],
    flows: [
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { policy: 'prod/allow-web' } },
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { policy: 'prod/deny-all', action: 'Deny' } },
    ],
  },
  {
    name: 'equal order: ties broken by name',
    source: 'felix/calc/policy_sorter.go PolKVLess (HEAD: "<name>/<namespace>/<kind>")',
    objects: [
      ...base(),
      cnp('prod', 'b-allow', { order: 100, selector: "app == 'db'", ingress: [{ action: 'Allow' }] }),
      cnp('prod', 'a-deny', { order: 100, selector: "app == 'db'", ingress: [{ action: 'Deny' }] }),
    ],
    flows: [{ from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { policy: 'prod/a-deny' } }],
  },
  {
    name: 'namespaced policy: rule selectors only match the policy namespace; GlobalNetworkPolicy rules match all namespaces',
    source: `${DOCS}/reference/resources/networkpolicy (EntityRule selector: "in the same namespace as the network policy"); libcalico-go/lib/backend/syncersv1/updateprocessors/rules.go GetEntityRuleSelector`,
    objects: [
      ...base(),
      cnp('prod', 'from-clients', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { selector: "app == 'client'" } }] }),
      gnp('web-from-clients', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { selector: "app == 'client'" } }] }),
    ],
    flows: [
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { via: 'end-of-tier', trail: ['source dev/client is in namespace dev; without namespaceSelector the rule only matches namespace prod'] } },
      { from: 'dev/client', to: 'prod/web', protocol: 'TCP', port: 8080, allowed: true, ingress: { policy: 'web-from-clients' } },
    ],
  },
  {
    name: 'rule namespaceSelector widens a namespaced policy to selected namespaces',
    source: `${DOCS}/network-policy/policy-rules/namespace-policy; updateprocessors/rules.go (pcns. prefix)`,
    objects: [
      ...base(),
      cnp('prod', 'from-dev-clients', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { namespaceSelector: "env == 'dev'", selector: "app == 'client'" } }] }),
    ],
    flows: [
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { policy: 'prod/from-dev-clients' } },
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { trail: ["source namespaceSelector `env == 'dev'` does not match namespace prod {env: prod}"] } },
    ],
  },
  {
    name: 'named ports resolve against the destination endpoint',
    source: `${DOCS}/reference/resources/networkpolicy (Ports: "named port"); felix/calc/rule_scanner.go (named-port IP sets)`,
    objects: [...base(), gnp('web-http', { selector: "app == 'web'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }] })],
    flows: [
      { from: 'dev/client', to: 'prod/web', protocol: 'TCP', port: 8080, allowed: true },
      { from: 'dev/client', to: 'prod/web', protocol: 'TCP', port: 80, allowed: false, ingress: { trail: ['destination port 80 not in [http (=8080/TCP on prod/web)]'] } },
      { from: 'prod/db', to: 'dev/web', protocol: 'TCP', port: 80, allowed: true },
      { from: 'prod/db', to: 'dev/web', protocol: 'TCP', port: 8080, allowed: false },
    ],
  },
  {
    name: 'named port without a rule protocol matches the port protocol of the endpoint',
    source: 'felix/calc/rule_scanner.go (namedPortProto = ProtocolAny when the rule has no protocol); felix/labelindex/named_port_index.go LookupNamedPorts',
    objects: [...base(), gnp('web-dns', { selector: "app == 'web'", ingress: [{ action: 'Allow', destination: { ports: ['dns'] } }] })],
    flows: [
      { from: 'prod/db', to: 'dev/web', protocol: 'UDP', port: 53, allowed: true },
      { from: 'prod/db', to: 'dev/web', protocol: 'TCP', port: 53, allowed: false },
    ],
  },
  {
    name: 'serviceAccounts by name and by selector over service-account labels',
    source: `${DOCS}/network-policy/policy-rules/service-accounts; updateprocessors/rules.go parseServiceAccounts`,
    objects: [
      ...base(),
      cnp('prod', 'db-from-web-sa', { order: 10, selector: "app == 'db'", ingress: [{ action: 'Allow', source: { serviceAccounts: { names: ['web'] } } }] }),
      cnp('prod', 'web-from-db-sa', { order: 10, selector: "app == 'web'", ingress: [{ action: 'Allow', source: { serviceAccounts: { selector: "role == 'database'" } } }] }),
    ],
    flows: [
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { policy: 'prod/db-from-web-sa' } },
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false },
      { from: 'prod/db', to: 'prod/web', protocol: 'TCP', port: 8080, allowed: true, ingress: { policy: 'prod/web-from-db-sa' } },
      { from: 'prod/web', to: 'prod/web', protocol: 'TCP', port: 8080, allowed: true, ingress: { via: 'loopback' } },
    ],
  },
  {
    name: 'notNets: deny egress outside the cluster range',
    source: `${DOCS}/reference/resources/networkpolicy (EntityRule notNets); ${DOCS}/network-policy/policy-rules/external-ips-policy`,
    objects: [
      ...base(),
      gnp('client-egress', { selector: "app == 'client'", types: ['Egress'], egress: [{ action: 'Deny', destination: { notNets: ['10.0.0.0/8'] } }, { action: 'Allow' }] }),
    ],
    flows: [
      { from: 'dev/client', to: '8.8.8.8', protocol: 'UDP', port: 53, allowed: false, egress: { policy: 'client-egress', rule: 0, action: 'Deny' }, ingress: { verdict: 'not-applicable', via: 'no-endpoint' } },
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, egress: { policy: 'client-egress', rule: 1, trail: ['destination IP 10.0.1.2 is in notNets 10.0.0.0/8'] } },
    ],
  },
  {
    name: 'ICMP type/code and notICMP',
    source: `${DOCS}/network-policy/policy-rules/icmp-ping; ${DOCS}/reference/resources/networkpolicy (ICMP, notICMP)`,
    objects: [
      ...base(),
      cnp('prod', 'ping-db', { selector: "app == 'db'", ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } }] }),
      cnp('prod', 'icmp-web', { selector: "app == 'web'", ingress: [{ action: 'Allow', protocol: 'ICMP', notICMP: { type: 8 } }] }),
    ],
    flows: [
      { from: 'dev/client', to: 'prod/db', protocol: 'ICMP', icmpType: 8, icmpCode: 0, allowed: true },
      { from: 'dev/client', to: 'prod/db', protocol: 'ICMP', icmpType: 13, icmpCode: 0, allowed: false, ingress: { trail: ['ICMP type 13 code 0 is not type 8 code 0'] } },
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { trail: ['protocol TCP is not ICMP'] } },
      { from: 'dev/client', to: 'prod/web', protocol: 'ICMP', icmpType: 8, icmpCode: 0, allowed: false, ingress: { trail: ['excluded by notICMP'] } },
      { from: 'dev/client', to: 'prod/web', protocol: 'ICMP', icmpType: 13, icmpCode: 0, allowed: true },
    ],
  },
  {
    name: 'notProtocol, protocol numbers, and Log continuing evaluation',
    source: `${DOCS}/reference/resources/networkpolicy (Rule: action Log, protocol, notProtocol); felix/rules/policy.go (Log renders -j LOG and evaluation continues)`,
    objects: [
      ...base(),
      cnp('prod', 'db', {
        selector: "app == 'db'",
        ingress: [{ action: 'Log' }, { action: 'Deny', notProtocol: 'TCP' }, { action: 'Allow', protocol: 6 }],
      }),
    ],
    flows: [
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { rule: 2, trail: ['rule 0 (Log): matched; logged, evaluation continues', 'rule 1 (Deny): protocol TCP is excluded (notProtocol TCP)'] } },
      { from: 'prod/web', to: 'prod/db', protocol: 'UDP', port: 5432, allowed: false, ingress: { rule: 1, action: 'Deny' } },
    ],
  },
  {
    name: 'staged policies are reported but never enforced',
    source: `${DOCS}/network-policy/staged-network-policies; felix/rules (staged policies are not rendered)`,
    objects: [...base(), cnp('prod', 'deny-everything', { selector: 'all()', ingress: [{ action: 'Deny' }] }, 'StagedNetworkPolicy')],
    flows: [{ from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { via: 'profile', trail: ['prod/deny-everything (staged, not enforced): would Deny (rule 0)', 'only staged policies select prod/db'] } }],
  },
  {
    name: 'types inference: egress rules only → an egress-only policy',
    source: `${DOCS}/reference/resources/networkpolicy (types default); api/pkg/defaults/networkpolicy.go defaultPolicyTypesField`,
    objects: [...base(), cnp('prod', 'web-egress', { selector: "app == 'web'", egress: [{ action: 'Allow', destination: { selector: "app == 'db'" } }] })],
    flows: [
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, egress: { policy: 'prod/web-egress' } },
      { from: 'prod/web', to: 'dev/client', protocol: 'TCP', port: 80, allowed: false, egress: { via: 'end-of-tier' } },
      { from: 'dev/client', to: 'prod/web', protocol: 'TCP', port: 8080, allowed: true, ingress: { via: 'profile' } },
    ],
  },
  {
    name: 'types inference: no rules at all → ingress-only policy that denies all ingress',
    source: 'api/pkg/defaults/networkpolicy.go defaultPolicyTypesField ("intentionally including the case where the policy also has no ingress rules")',
    objects: [...base(), cnp('prod', 'isolate-db', { selector: "app == 'db'" })],
    flows: [
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { via: 'end-of-tier', trail: ['prod/isolate-db: selects prod/db but has no ingress rules → next policy'] } },
      { from: 'prod/db', to: 'prod/web', protocol: 'TCP', port: 8080, allowed: true, egress: { via: 'profile' } },
    ],
  },
  {
    name: 'a stored CRD without types applies to ingress and egress',
    source: 'felix/calc/policy_sorter.go ExtractPolicyMetadata ("no Types means Ingress and Egress"); defaulting only happens in libcalico-go clientv3',
    objects: [
      ...base(),
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'NetworkPolicy', metadata: { name: 'default.db-in', namespace: 'prod' }, spec: { selector: "app == 'db'", ingress: [{ action: 'Allow' }] } },
    ],
    flows: [
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true },
      { from: 'prod/db', to: 'prod/web', protocol: 'TCP', port: 8080, allowed: false, egress: { via: 'end-of-tier', trail: ['prod/db-in: selects prod/db but has no egress rules'] } },
    ],
  },
  {
    name: 'end-of-tier deny for selected endpoints vs profile allow for unselected ones',
    source: 'felix/rules/endpoints.go (tier block, then profiles "kns.<ns>"); libcalico-go/lib/backend/k8s/conversion/conversion.go NamespaceToProfile (Allow rules)',
    objects: [...base(), cnp('prod', 'db-from-web', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }] })],
    flows: [
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { verdict: 'deny', via: 'end-of-tier', tier: 'default' } },
      { from: 'dev/client', to: 'prod/web', protocol: 'TCP', port: 8080, allowed: true, ingress: { verdict: 'allow', via: 'profile', trail: ['no policy selects prod/web for ingress → profiles [kns.prod, ksa.prod.web]'] } },
    ],
  },
  {
    name: 'GlobalNetworkSet labels make external IPs selectable',
    source: `${DOCS}/network-policy/policy-rules/external-ips-policy; ${DOCS}/reference/resources/globalnetworkset`,
    objects: [
      ...base(),
      { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'public-dns', labels: { role: 'dns' } }, spec: { nets: ['8.8.8.8/32', '8.8.4.4/32'] } },
      gnp('client-dns', { selector: "app == 'client'", types: ['Egress'], egress: [{ action: 'Allow', protocol: 'UDP', destination: { selector: "role == 'dns'", ports: [53] } }] }),
    ],
    flows: [
      { from: 'dev/client', to: '8.8.8.8', protocol: 'UDP', port: 53, allowed: true, egress: { policy: 'client-dns' } },
      { from: 'dev/client', to: '1.1.1.1', protocol: 'UDP', port: 53, allowed: false, egress: { trail: ["destination selector `role == 'dns'` does not match 1.1.1.1 (not a Calico endpoint and in no NetworkSet)"] } },
    ],
  },
  {
    name: 'rule namespaceSelector global() matches only non-namespaced endpoints and sets',
    source: `${DOCS}/reference/resources/globalnetworkpolicy (namespaceSelector global()); updateprocessors/rules.go (global() → !has(projectcalico.org/namespace))`,
    objects: [
      ...base(),
      { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'corp', labels: { zone: 'corp' } }, spec: { nets: ['192.168.0.0/16'] } },
      gnp('db-from-global', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { namespaceSelector: 'global()' } }] }),
    ],
    flows: [
      { from: '192.168.1.5', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { policy: 'db-from-global' } },
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { via: 'end-of-tier' } },
    ],
  },
  {
    name: 'destination services match the service backends',
    source: `${DOCS}/network-policy/policy-rules/service-policy; felix/serviceindex/serviceindex.go (EndpointSlice addresses × ports)`,
    objects: [
      ...base(),
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'db-abcde', namespace: 'prod', labels: { 'kubernetes.io/service-name': 'db' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.0.1.2'] }],
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      },
      cnp('prod', 'web-to-db-svc', { selector: "app == 'web'", types: ['Egress'], egress: [{ action: 'Allow', destination: { services: { name: 'db' } } }] }),
    ],
    flows: [
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, egress: { policy: 'prod/web-to-db-svc' } },
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5433, allowed: false, egress: { trail: ['destination 10.0.1.2:5433/TCP is not a backend of service prod/db'] } },
    ],
  },
  {
    name: 'ipVersion restricts a rule to one IP family',
    source: `${DOCS}/reference/resources/networkpolicy (Rule ipVersion); felix/rules/policy.go FilterRuleToIPVersion`,
    objects: [...base(), cnp('prod', 'v6-only', { selector: "app == 'db'", ingress: [{ action: 'Allow', ipVersion: 6 }] })],
    flows: [{ from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { trail: ['rule is IPv6-only (ipVersion 6); the packet is IPv4'] } }],
  },
  {
    name: 'a rule whose notNets are all of the other family is left out of this family',
    source: 'felix/rules/policy.go filterNets / FilterRuleToIPVersion',
    objects: [...base(), cnp('prod', 'v6-nets', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { notNets: ['fd00::/8'] } }] })],
    flows: [{ from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { trail: ['source notNets has no IPv4 CIDR'] } }],
  },
  {
    name: 'Kubernetes policies sit in the default tier at order 1000, after lower-order Calico policies',
    source: 'libcalico-go/lib/backend/k8s/conversion/conversion.go K8sNetworkPolicyToCalico (order 1000, tier default)',
    objects: [
      ...base(),
      knp('prod', 'db-allow-all', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{}], policyTypes: ['Ingress'] }),
      cnp('prod', 'db-deny-dev', { order: 999, selector: "app == 'db'", ingress: [{ action: 'Deny', source: { namespaceSelector: "env == 'dev'" } }] }),
    ],
    flows: [
      { from: 'dev/client', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: false, ingress: { policy: 'prod/db-deny-dev' } },
      { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432, allowed: true, ingress: { policy: 'prod/knp.default.db-allow-all', rule: 0 } },
    ],
  },
  {
    name: 'host endpoint: failsafe ports are allowed before any policy',
    source: `${DOCS}/reference/host-endpoints/failsafe; felix/config/config_params.go FailsafeInboundHostPorts`,
    objects: [
      ...base(),
      { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'node-3-eth0', labels: { 'host-endpoint': 'yes' } }, spec: { node: 'node-3', interfaceName: 'eth0', expectedIPs: ['172.18.0.3'] } },
      gnp('hosts-closed', { selector: 'has(host-endpoint)', ingress: [{ action: 'Deny' }] }),
    ],
    flows: [
      { from: 'dev/client', to: '172.18.0.3', protocol: 'TCP', port: 22, allowed: true, ingress: { via: 'failsafe' } },
      { from: 'dev/client', to: '172.18.0.3', protocol: 'TCP', port: 10250, allowed: false, ingress: { policy: 'hosts-closed', action: 'Deny' } },
    ],
  },
];

function check(model: PolicyModel, f: Flow) {
  const { json } = runPolicyCheck(model, {
    from: f.from,
    to: f.to,
    protocol: f.protocol,
    ...(f.port !== undefined ? { port: f.port } : {}),
    ...(f.icmpType !== undefined ? { icmpType: f.icmpType } : {}),
    ...(f.icmpCode !== undefined ? { icmpCode: f.icmpCode } : {}),
  });
  const where = `${f.from} → ${f.to} ${f.protocol}/${f.port ?? f.icmpType}\n${JSON.stringify(json, null, 1)}`;
  expect(json.allowed, where).toBe(f.allowed);
  for (const dir of ['egress', 'ingress'] as const) {
    const want = f[dir];
    if (!want) continue;
    const got = json[dir];
    if (want.verdict) expect(got.verdict, where).toBe(want.verdict);
    if (want.via) expect(got.via, where).toBe(want.via);
    if (want.tier !== undefined) expect(got.decidedBy?.tier ?? null, where).toBe(want.tier);
    if (want.policy !== undefined) expect(got.decidedBy?.policy ?? null, where).toBe(want.policy);
    if (want.rule !== undefined) expect(got.decidedBy?.rule ?? null, where).toBe(want.rule);
    if (want.action) expect(got.decidedBy?.action, where).toBe(want.action);
    for (const t of want.trail ?? []) expect(got.trail.join('\n'), where).toContain(t);
  }
}

describe('Calico policy semantics (table)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const { cluster, issues } = clusterFromObjects(c.objects, `calico/${c.name}.yaml`);
    expect(issues.filter((i) => i.severity === 'error'), 'the objects are valid').toEqual([]);
    const model = buildPolicyModel(cluster);
    for (const f of c.flows) check(model, f);
    // The matrix must agree with the per-flow answers for pod-to-pod TCP/UDP flows.
    for (const f of c.flows.filter((x) => x.port !== undefined && x.from.includes('/') && x.to.includes('/'))) {
      const m = reachabilityMatrix(model, { protocol: f.protocol, port: f.port });
      expect(cellAllowed(m, m.ids.indexOf(f.from), m.ids.indexOf(f.to)), `${f.from} → ${f.to} matrix`).toBe(f.allowed);
    }
  });

  it('every case cites a source', () => {
    for (const c of CASES) expect(c.source).toMatch(/docs\.tigera\.io|\.go/);
  });
});

describe('tie-break style follows the Calico version', () => {
  // Equal order. HEAD compares "<name>/<namespace>/<kind>": "a-allow/prod/NetworkPolicy" <
  // "b-deny//GlobalNetworkPolicy". ≤ v3.31 compares the v1 key name: "b-deny" < "prod/a-allow".
  const objects = [
    ...base(),
    cnp('prod', 'a-allow', { order: 100, selector: "app == 'db'", ingress: [{ action: 'Allow' }] }),
    gnp('b-deny', { order: 100, selector: "app == 'db'", ingress: [{ action: 'Deny' }] }),
  ];
  const decider = (style?: 'kind' | 'v1', extra: Record<string, unknown>[] = []) => {
    const model = buildPolicyModel(clusterFromObjects([...objects, ...extra]).cluster, style ? { sortStyle: style } : {});
    return runPolicyCheck(model, { from: 'prod/web', to: 'prod/db', protocol: 'TCP', port: 5432 }).json.ingress.decidedBy?.policy;
  };
  it('HEAD (≥ v3.32): name, then namespace, then kind', () => {
    expect(decider('kind')).toBe('prod/a-allow');
  });
  it('≤ v3.31: the v1 key ("<ns>/<name>" for namespaced policies)', () => {
    expect(decider('v1')).toBe('b-deny');
  });
  it('reads the version from ClusterInformation', () => {
    const ci = { apiVersion: 'crd.projectcalico.org/v1', kind: 'ClusterInformation', metadata: { name: 'default' }, spec: { calicoVersion: 'v3.28.5' } };
    expect(decider(undefined, [ci])).toBe('b-deny');
    expect(decider(undefined, [{ ...ci, spec: { calicoVersion: 'v3.32.1' } }])).toBe('prod/a-allow');
    expect(decider()).toBe('prod/a-allow');
  });
});

describe('matrix', () => {
  it('renders like the e2e truth table', () => {
    const model = buildPolicyModel(clusterFromObjects([...base(), cnp('prod', 'db-from-web', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }] })]).cluster);
    const m = reachabilityMatrix(model, { protocol: 'TCP', port: 5432, namespace: 'prod' });
    expect(m.ids).toEqual(['prod/web', 'prod/db']);
    expect(cellAllowed(m, 0, 1)).toBe(true);
    expect(cellAllowed(m, 1, 0)).toBe(true);
    const all = reachabilityMatrix(model, { protocol: 'TCP', port: 5432 });
    expect(all.blockedCount).toBe(2); // dev/client and dev/web → prod/db
    expect(all.pairs).toBe(12);
  });
});
