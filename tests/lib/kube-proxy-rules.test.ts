import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base32, kubeProxyNatRules, probability, serviceChain, type KubeService } from './kube-proxy-rules.js';

test("chain names are kube-proxy's own hashes", () => {
  // Names every kind and kubeadm cluster has (iptables-save on any node).
  const svc = (namespace: string, name: string, portName: string) =>
    serviceChain({ namespace, name, portName } as KubeService);
  assert.equal(svc('default', 'kubernetes', 'https'), 'KUBE-SVC-NPX46M4PTMTKRN6Y');
  assert.equal(svc('kube-system', 'kube-dns', 'dns-tcp'), 'KUBE-SVC-ERIFXISQEP7F7OF4');
  assert.equal(svc('kube-system', 'kube-dns', 'metrics'), 'KUBE-SVC-JD5MR3NA4I4DYORP');
  assert.equal(base32(Buffer.from('foobar')), 'MZXW6YTBOI'); // RFC 4648 test vector (padding dropped)
});

test('endpoints are picked at random with probabilities 1/n, 1/(n-1), …, the last one unconditionally', () => {
  assert.deepEqual(
    [0, 1].map((i) => probability(i, 3)),
    ['0.3333333333', '0.5000000000']
  );
  const rules = kubeProxyNatRules({
    node: 'a',
    clusterCidr: '10.1.0.0/16',
    services: [
      {
        namespace: 'ns',
        name: 's',
        portName: 'http',
        clusterIp: '10.96.0.10',
        port: 80,
        endpoints: ['10.1.1.2', '10.1.1.3', '10.1.2.2'].map((ip) => ({ ip, port: 8080, node: 'a' })),
      },
    ],
  });
  const svc = rules.split('\n').filter((l) => l.startsWith('-A KUBE-SVC-') && l.includes('KUBE-SEP-'));
  assert.equal(svc.length, 3);
  assert.match(svc[0]!, /--probability 0\.3333333333 -j KUBE-SEP-/);
  assert.match(svc[1]!, /--probability 0\.5000000000 -j KUBE-SEP-/);
  assert.doesNotMatch(svc[2]!, /statistic/);
  assert.match(rules, /-A KUBE-SEP-\w{16} -p tcp .* -j DNAT --to-destination 10\.1\.2\.2:8080/);
  assert.match(rules, /-A KUBE-SVC-\w{16} ! -s 10\.1\.0\.0\/16 -d 10\.96\.0\.10\/32 .* -j KUBE-MARK-MASQ/);
  const services = rules.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES'));
  assert.match(services.at(-1)!, /--dst-type LOCAL -j KUBE-NODEPORTS$/, 'the NodePort jump comes last');
  assert.match(rules, /^-A PREROUTING .* -j KUBE-SERVICES$/m);
  assert.match(rules, /^-A OUTPUT .* -j KUBE-SERVICES$/m);
  assert.match(rules, /^-A KUBE-POSTROUTING .* -j MASQUERADE --random-fully$/m);
});

test('NodePorts: Cluster masquerades; Local keeps node-local endpoints and the client address', () => {
  const service = (etp: 'Cluster' | 'Local'): KubeService => ({
    namespace: 'ns',
    name: etp.toLowerCase(),
    portName: 'http',
    clusterIp: '10.96.0.11',
    port: 80,
    nodePort: 30080,
    externalTrafficPolicy: etp,
    endpoints: [
      { ip: '10.1.1.2', port: 8080, node: 'a' },
      { ip: '10.1.2.2', port: 8080, node: 'b' },
    ],
  });
  const cluster = kubeProxyNatRules({ node: 'a', clusterCidr: '10.1.0.0/16', services: [service('Cluster')] });
  const ext = serviceChain(service('Cluster'), 'KUBE-EXT-');
  assert.match(cluster, new RegExp(`-A KUBE-NODEPORTS .*--dport 30080 -j ${ext}`));
  assert.match(cluster, new RegExp(`-A ${ext} .*-j KUBE-MARK-MASQ`));

  const local = kubeProxyNatRules({ node: 'b', clusterCidr: '10.1.0.0/16', services: [service('Local')] });
  const svl = serviceChain(service('Local'), 'KUBE-SVL-');
  const svlRules = local.split('\n').filter((l) => l.startsWith(`-A ${svl}`));
  assert.equal(svlRules.length, 1);
  assert.match(svlRules[0]!, /10\.1\.2\.2:8080/, "only node b's endpoint");
  const extLocal = local.split('\n').filter((l) => l.startsWith(`-A ${serviceChain(service('Local'), 'KUBE-EXT-')}`));
  assert.equal(extLocal.at(-1), `-A ${serviceChain(service('Local'), 'KUBE-EXT-')} -j ${svl}`);
  assert.ok(
    !extLocal.some((l) => l.endsWith('KUBE-MARK-MASQ') && !l.includes('--src-type LOCAL')),
    'no SNAT for remote clients'
  );
  assert.throws(
    () => kubeProxyNatRules({ node: 'c', clusterCidr: '10.1.0.0/16', services: [service('Local')] }),
    /no.*not modelled|not modelled/
  );
});
