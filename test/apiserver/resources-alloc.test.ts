import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fieldErrorString, isStatusError, type KubeObject } from "../../src/api/index.js";
import {
  allocateServiceAddresses,
  builtinRegistry,
  cidrContains,
  defaultServiceCIDR,
  isAllocatableIP,
  kubernetesServiceIP,
  nextFreeIP,
  nextFreeNodePort,
  nthIP,
  parseCIDR,
  parsePortRange,
  seededRandom,
  serviceAddressesInUse,
} from "../../src/apiserver/resources/index.js";

describe("CIDR helpers", () => {
  test("parse, normalise and index", () => {
    const c = parseCIDR(defaultServiceCIDR);
    assert.equal(c.text, "10.96.0.0/12");
    assert.equal(c.size, 2 ** 20);
    assert.equal(nthIP(c, 1), "10.96.0.1");
    assert.equal(nthIP(c, 2 ** 20 - 1), "10.111.255.255");
    assert.equal(kubernetesServiceIP(c), "10.96.0.1");
    assert.equal(parseCIDR("10.96.5.7/12").text, "10.96.0.0/12");
    assert.ok(cidrContains(c, "10.100.3.4"));
    assert.ok(!cidrContains(c, "10.112.0.0"));
    assert.ok(!cidrContains(c, "not-an-ip"));
    assert.throws(() => nthIP(c, 2 ** 20), RangeError);
  });

  test("bad input gets a clear error", () => {
    assert.throws(() => parseCIDR("10.96.0.0"), /invalid CIDR address: 10.96.0.0/);
    assert.throws(() => parseCIDR("10.96.0.300/12"), /invalid CIDR address/);
    assert.throws(() => parseCIDR("10.96.0.0/33"), /invalid CIDR address/);
    assert.throws(() => parseCIDR("fd00::/108"), /only IPv4 service ranges are supported/);
    assert.throws(() => parsePortRange("32767-30000"), /unable to parse port range/);
    assert.deepEqual(parsePortRange("30000-32767"), { base: 30000, size: 2768 });
  });

  test("next free IP skips network, broadcast, the kubernetes IP and used addresses", () => {
    const c = parseCIDR("10.0.0.0/29");
    const seen = new Set<string>();
    const used = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const ip = nextFreeIP(c, used, seededRandom(i));
      assert.ok(ip !== undefined);
      used.add(ip);
      seen.add(ip);
    }
    assert.deepEqual([...seen].sort(), ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    assert.equal(nextFreeIP(c, used), undefined);
    assert.ok(!isAllocatableIP(c, "10.0.0.0"));
    assert.ok(!isAllocatableIP(c, "10.0.0.7"));
    assert.ok(isAllocatableIP(c, "10.0.0.1"));
  });

  test("allocation is deterministic for a seed", () => {
    const c = parseCIDR(defaultServiceCIDR);
    assert.equal(nextFreeIP(c, new Set(), seededRandom(7)), nextFreeIP(c, new Set(), seededRandom(7)));
    assert.equal(
      nextFreeNodePort(new Set(), undefined, seededRandom(3)),
      nextFreeNodePort(new Set(), undefined, seededRandom(3)),
    );
  });

  test("NodePorts come from 30000-32767 and avoid used ones", () => {
    const used = new Set<number>();
    for (let i = 0; i < 2768; i++) {
      const p = nextFreeNodePort(used, undefined, seededRandom(i));
      assert.ok(p !== undefined && p >= 30000 && p <= 32767 && !used.has(p));
      used.add(p);
    }
    assert.equal(nextFreeNodePort(used), undefined);
  });
});

describe("allocateServiceAddresses", () => {
  const services = builtinRegistry().lookup("", "v1", "services")!;
  const cidr = parseCIDR(defaultServiceCIDR);
  const svc = (spec: Record<string, unknown>): KubeObject => {
    const s: KubeObject = {
      metadata: { name: "s", namespace: "d" },
      spec: { ports: [{ port: 80 }], ...spec },
    };
    services.defaults?.(s);
    return s;
  };

  test("assigns a ClusterIP and NodePorts", () => {
    const s = svc({ type: "NodePort" });
    const errs = allocateServiceAddresses(s, {
      serviceCIDR: cidr,
      usedIPs: new Set(),
      usedNodePorts: new Set([30000]),
      random: seededRandom(1),
    });
    assert.deepEqual(errs, []);
    assert.ok(cidrContains(cidr, s.spec.clusterIP));
    assert.deepEqual(s.spec.clusterIPs, [s.spec.clusterIP]);
    assert.notEqual(s.spec.clusterIP, "10.96.0.1");
    assert.ok(s.spec.ports[0].nodePort >= 30000 && s.spec.ports[0].nodePort <= 32767);
    assert.notEqual(s.spec.ports[0].nodePort, 30000);
  });

  test("the kubernetes service may ask for the first IP; headless and ExternalName get none", () => {
    const k = svc({ clusterIP: "10.96.0.1" });
    assert.deepEqual(
      allocateServiceAddresses(k, { serviceCIDR: cidr, usedIPs: new Set(), usedNodePorts: new Set() }),
      [],
    );
    assert.equal(k.spec.clusterIP, "10.96.0.1");
    const h = svc({ clusterIP: "None" });
    allocateServiceAddresses(h, { serviceCIDR: cidr, usedIPs: new Set(), usedNodePorts: new Set() });
    assert.deepEqual(h.spec.clusterIPs, ["None"]);
    const e = svc({ type: "ExternalName", externalName: "x.example.com", ports: [] });
    allocateServiceAddresses(e, { serviceCIDR: cidr, usedIPs: new Set(), usedNodePorts: new Set() });
    assert.equal(e.spec.clusterIP, undefined);
  });

  test("requested values that are taken or out of range are field errors", () => {
    const taken = svc({ clusterIP: "10.96.0.10" });
    const errs = allocateServiceAddresses(taken, {
      serviceCIDR: cidr,
      usedIPs: new Set(["10.96.0.10"]),
      usedNodePorts: new Set(),
    });
    assert.deepEqual(errs.map(fieldErrorString), [
      'spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: provided IP is already allocated',
    ]);
    const outside = svc({ clusterIP: "192.168.0.1" });
    assert.deepEqual(
      allocateServiceAddresses(outside, {
        serviceCIDR: cidr,
        usedIPs: new Set(),
        usedNodePorts: new Set(),
      }).map(fieldErrorString),
      [
        'spec.clusterIPs: Invalid value: ["192.168.0.1"]: failed to allocate IP 192.168.0.1: the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12',
      ],
    );
    const ports = svc({
      type: "NodePort",
      ports: [
        { port: 80, nodePort: 80, name: "a" },
        { port: 81, nodePort: 30001, name: "b" },
      ],
    });
    assert.deepEqual(
      allocateServiceAddresses(ports, {
        serviceCIDR: cidr,
        usedIPs: new Set(),
        usedNodePorts: new Set([30001]),
      }).map(fieldErrorString),
      [
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
        "spec.ports[1].nodePort: Invalid value: 30001: provided port is already allocated",
      ],
    );
  });

  test("gathers what a list of services holds", () => {
    const inUse = serviceAddressesInUse([
      { spec: { clusterIP: "10.96.0.1", clusterIPs: ["10.96.0.1"], ports: [{ port: 443 }] } },
      { spec: { clusterIP: "None", clusterIPs: ["None"] } },
      {
        spec: {
          clusterIP: "10.96.3.3",
          ports: [
            { port: 80, nodePort: 30080 },
            { port: 81, nodePort: 0 },
          ],
        },
      },
      { metadata: { name: "no-spec" } },
    ]);
    assert.deepEqual([...inUse.ips].sort(), ["10.96.0.1", "10.96.3.3"]);
    assert.deepEqual([...inUse.nodePorts], [30080]);
  });

  test("a full range is a 500, not a crash", () => {
    const small = parseCIDR("10.0.0.0/30");
    const s = svc({});
    assert.throws(
      () =>
        allocateServiceAddresses(s, {
          serviceCIDR: small,
          usedIPs: new Set(["10.0.0.1", "10.0.0.2"]),
          usedNodePorts: new Set(),
        }),
      (err: unknown) => isStatusError(err) && err.status.code === 500 && /range is full/.test(err.message),
    );
  });
});
