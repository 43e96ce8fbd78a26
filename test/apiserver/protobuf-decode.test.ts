// The protobuf body decoder: envelopes as client-go writes them (gogo-protobuf, zero values of
// non-pointer fields included) decode to the JSON a JSON body would give.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { seededRandom } from "../../src/apiserver/resources/index.js";
import {
  decodeKubernetesProtobuf,
  ProtobufError,
  ProtobufUnsupportedError,
} from "../../src/apiserver/rest/protobuf/decode.js";
import { allMessageNames, messageSpec } from "../../src/apiserver/rest/protobuf/schema.js";

function varint(n: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}
const num = (field: number, n: bigint | number) => [...varint(field << 3), ...varint(n)];
const len = (field: number, bytes: number[]) => [
  ...varint((field << 3) | 2),
  ...varint(bytes.length),
  ...bytes,
];
const str = (field: number, s: string) => len(field, [...Buffer.from(s, "utf8")]);
const entry = (field: number, k: string, v: number[]) => len(field, [...str(1, k), ...v]);

/** Walks a decoded object by keys and indexes. */
function dig(v: unknown, ...path: Array<string | number>): unknown {
  for (const p of path) v = (v as Record<string | number, unknown>)[p];
  return v;
}

function envelope(apiVersion: string, kind: string, raw: number[]): Buffer {
  return Buffer.from([
    0x6b,
    0x38,
    0x73,
    0x00,
    ...len(1, [...str(1, apiVersion), ...str(2, kind)]),
    ...len(2, raw),
  ]);
}

// ObjectMeta as gogo writes it for {name}: every non-pointer field present, empty.
const meta = (name: string) =>
  len(1, [
    ...str(1, name),
    ...str(2, ""),
    ...str(3, ""),
    ...str(4, ""),
    ...str(5, ""),
    ...str(6, ""),
    ...num(7, 0),
    ...len(8, []),
  ]);

describe("protobuf body decoding", () => {
  test("every schema message parses", () => {
    for (const name of allMessageNames()) assert.ok(messageSpec(name).size > 0, name);
  });

  test("a ConfigMap with data and binaryData", () => {
    const raw = [
      ...meta("c1"),
      ...entry(2, "a", str(2, "b")),
      ...entry(2, "empty", str(2, "")),
      ...entry(3, "bin", len(2, [0, 1, 2])),
    ];
    assert.deepEqual(decodeKubernetesProtobuf(envelope("v1", "ConfigMap", raw)), {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c1" },
      data: { a: "b", empty: "" },
      binaryData: { bin: Buffer.from([0, 1, 2]).toString("base64") },
    });
  });

  test("Deployment: pointer zeros stay, value zeros go, IntOrString, Quantity, Time, negative ints", () => {
    const container = [
      ...str(1, "app"),
      ...str(2, "img"),
      ...len(6, [...str(1, ""), ...num(2, 0), ...num(3, -1), ...str(4, "TCP")]),
      ...len(8, entry(1, "cpu", len(2, str(1, "500m")))),
      ...num(16, 0),
    ];
    const spec = [
      ...num(1, 0),
      ...len(2, entry(1, "app", str(2, "web"))),
      ...len(3, [
        ...len(1, [...len(8, [...num(1, 1_700_000_000)])]),
        ...len(2, [...len(2, container), ...str(3, "")]),
      ]),
      ...len(4, [
        ...str(1, "RollingUpdate"),
        ...len(2, [...len(1, [...num(1, 1), ...str(3, "25%")]), ...len(2, [...num(1, 0), ...num(2, 2)])]),
      ]),
      ...num(5, 0),
      ...num(7, 0),
    ];
    const d = decodeKubernetesProtobuf(
      envelope("apps/v1", "Deployment", [...meta("web"), ...len(2, spec), ...len(3, [...num(1, 0)])]),
    );
    assert.deepEqual(d, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { creationTimestamp: "2023-11-14T22:13:20Z" },
          spec: {
            containers: [
              {
                name: "app",
                image: "img",
                ports: [{ containerPort: -1, protocol: "TCP" }],
                resources: { limits: { cpu: "500m" } },
              },
            ],
          },
        },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: 2 } },
      },
    });
  });

  test("inline embedded messages (LocalObjectReference, IngressRuleValue)", () => {
    const env = len(7, [
      ...str(1, "X"),
      ...len(3, [...len(3, [...len(1, str(1, "cm")), ...str(2, "k"), ...num(3, 0)])]),
    ]);
    const pod = len(6, [...len(2, [...len(2, [...str(1, "c"), ...env])])]);
    const job = decodeKubernetesProtobuf(envelope("batch/v1", "Job", [...meta("j"), ...len(2, pod)]));
    assert.deepEqual(dig(job, "spec", "template", "spec", "containers", 0, "env"), [
      { name: "X", valueFrom: { configMapKeyRef: { name: "cm", key: "k", optional: false } } },
    ]);
    const backend = len(2, len(4, [...str(1, "svc"), ...len(2, num(2, 80))]));
    const rule = len(3, [
      ...str(1, "foo.com"),
      ...len(2, len(1, len(1, [...str(1, "/"), ...backend, ...str(3, "Prefix")]))),
    ]);
    const ing = decodeKubernetesProtobuf(
      envelope("networking.k8s.io/v1", "Ingress", [...meta("i"), ...len(2, rule)]),
    );
    assert.deepEqual(dig(ing, "spec", "rules"), [
      {
        host: "foo.com",
        http: {
          paths: [
            { path: "/", backend: { service: { name: "svc", port: { number: 80 } } }, pathType: "Prefix" },
          ],
        },
      },
    ]);
  });

  test("an unknown field with data is refused; an empty one is ignored", () => {
    assert.deepEqual(decodeKubernetesProtobuf(envelope("v1", "ConfigMap", [...meta("c"), ...str(99, "")])), {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
    });
    assert.throws(
      () => decodeKubernetesProtobuf(envelope("v1", "ConfigMap", [...meta("c"), ...str(99, "x")])),
      (e: Error) => e instanceof ProtobufUnsupportedError && /field number 99 of ConfigMap/.test(e.message),
    );
  });

  test("kinds without a schema are refused naming the ones that work", () => {
    assert.throws(
      () => decodeKubernetesProtobuf(envelope("v1", "Pod", meta("p"))),
      (e: Error) =>
        e instanceof ProtobufUnsupportedError && /v1\/Pod must be sent as application\/json/.test(e.message),
    );
  });

  test("malformed bodies are ProtobufErrors", () => {
    const bad = [
      Buffer.from([0x6b, 0x38, 0x73]),
      Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x50]),
      envelope("v1", "ConfigMap", [0x0a, 0x05, 0x01]),
      envelope("v1", "ConfigMap", [...num(1, 5)]),
      envelope("v1", "ConfigMap", [0x0f]),
      envelope("v1", "ConfigMap", len(1, [...len(1, [0xff, 0xfe])])),
    ];
    for (const b of bad) assert.throws(() => decodeKubernetesProtobuf(b), ProtobufError, b.toString("hex"));
  });

  test("a few thousand mutated envelopes never throw anything else", () => {
    const rand = seededRandom(42);
    const base = envelope("v1", "ConfigMap", [...meta("c1"), ...entry(2, "a", str(2, "b"))]);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(base);
      const flips = 1 + Math.floor(rand() * 4);
      for (let j = 0; j < flips; j++) b[4 + Math.floor(rand() * (b.length - 4))] = Math.floor(rand() * 256);
      const cut = rand() < 0.3 ? b.subarray(0, 4 + Math.floor(rand() * (b.length - 4))) : b;
      try {
        decodeKubernetesProtobuf(cut);
      } catch (e) {
        assert.ok(e instanceof ProtobufError || e instanceof ProtobufUnsupportedError, String(e));
      }
    }
  });
});
