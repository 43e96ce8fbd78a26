import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Lessor,
  MAX_LEASE_TTL,
  MvccError,
  type MvccErrorCode,
  MvccStore,
} from "../../src/store/mvcc/index.js";

const b = (s: string) => Buffer.from(s);
const str = (u: Uint8Array) => Buffer.from(u).toString();

function throwsCode(fn: () => unknown, code: MvccErrorCode, message?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MvccError);
    assert.equal(e.code, code);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

describe("mvcc leases (replicated state)", () => {
  test("grant rules: id 0, too large, exists, minimum TTL; no revision change", () => {
    const s = new MvccStore({ minLeaseTtl: 5 });
    throwsCode(() => s.leaseGrant(0n, 10), "LEASE_NOT_FOUND");
    throwsCode(() => s.leaseGrant(1n, MAX_LEASE_TTL + 1), "TTL_TOO_LARGE", "too large lease TTL");
    assert.deepEqual(s.leaseGrant(1n, 3), { revision: 1, id: 1n, ttl: 5 });
    assert.equal(s.leaseGrant(2n, MAX_LEASE_TTL).ttl, MAX_LEASE_TTL);
    throwsCode(() => s.leaseGrant(1n, 10), "LEASE_EXISTS", "lease already exists");
    assert.deepEqual(s.leaseIds(), [1n, 2n]);
    assert.equal(s.revision, 1);
    // Negative ids are valid int64 lease ids.
    s.leaseGrant(-4n, 10);
    assert.deepEqual(s.leaseIds(), [-4n, 1n, 2n]);
  });

  test("attach, move and detach keys; revoke deletes attached keys in one revision", () => {
    const s = new MvccStore();
    s.leaseGrant(10n, 60);
    s.leaseGrant(20n, 60);
    s.put({ key: b("b"), value: b("1"), lease: 10n }); // 2
    s.put({ key: b("a"), value: b("1"), lease: 10n }); // 3
    s.put({ key: b("c"), value: b("1"), lease: 10n }); // 4
    s.put({ key: b("c"), value: b("2"), lease: 20n }); // 5: moves c to lease 20
    s.put({ key: b("free"), value: b("1") }); // 6
    assert.deepEqual(s.leaseInfo(10n).keys.map(str), ["a", "b"]);
    assert.deepEqual(s.leaseInfo(20n).keys.map(str), ["c"]);
    assert.equal(s.leaseInfo(10n).grantedTtl, 60);
    s.put({ key: b("b"), value: b("2") }); // 7: detaches b
    assert.deepEqual(s.leaseInfo(10n).keys.map(str), ["a"]);
    s.put({ key: b("b"), value: b("3"), lease: 10n }); // 8
    s.deleteRange({ key: b("a") }); // 9: detaches a
    assert.deepEqual(s.leaseInfo(10n).keys.map(str), ["b"]);
    s.put({ key: b("a"), value: b("x"), lease: 10n }); // 10
    const events: string[] = [];
    s.watchHub.watch({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }, (r) => {
      for (const e of r.events) events.push(`${r.revision}:${e.type}:${str(e.kv.key)}`);
      return true;
    });
    assert.equal(s.leaseRevoke(10n).revision, 11);
    assert.deepEqual(events, ["11:DELETE:a", "11:DELETE:b"]);
    assert.deepEqual(
      s.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }).kvs.map((kv) => str(kv.key)),
      ["c", "free"],
    );
    throwsCode(() => s.leaseInfo(10n), "LEASE_NOT_FOUND");
    throwsCode(() => s.leaseRevoke(10n), "LEASE_NOT_FOUND", "lease not found");
    throwsCode(() => s.put({ key: b("z"), value: b("1"), lease: 10n }), "LEASE_NOT_FOUND");
  });

  test("revoking a lease without keys does not create a revision", () => {
    const s = new MvccStore();
    s.leaseGrant(1n, 60);
    assert.equal(s.leaseRevoke(1n).revision, 1);
    assert.equal(s.hasLease(1n), false);
  });
});

describe("Lessor (leader-side expiry with an injected clock)", () => {
  function setup() {
    let now = 1_000_000;
    const clock = { advance: (ms: number) => (now += ms) };
    const lessor = new Lessor({ now: () => now, retryMs: 3000 });
    const store = new MvccStore();
    store.attachLessor(lessor);
    return { store, lessor, clock };
  }

  test("followers never expire leases; promotion starts full TTLs plus extend", () => {
    const { store, lessor, clock } = setup();
    store.leaseGrant(1n, 10);
    clock.advance(60_000);
    assert.deepEqual(lessor.expired(), []);
    assert.equal(lessor.remainingTtl(1n), 10);
    throwsCode(() => lessor.renew(1n), "NOT_PRIMARY");
    lessor.promote(2000);
    assert.equal(lessor.remainingTtl(1n), 12);
    clock.advance(11_999);
    assert.deepEqual(lessor.expired(), []);
    clock.advance(1);
    assert.deepEqual(lessor.expired(), [1n]);
  });

  test("renew restarts the TTL; expired leases cannot be renewed; revoke forgets the lease", () => {
    const { store, lessor, clock } = setup();
    lessor.promote();
    store.leaseGrant(1n, 10);
    store.leaseGrant(2n, 5);
    clock.advance(4000);
    assert.equal(lessor.renew(1n), 10);
    assert.equal(lessor.remainingTtl(1n), 10);
    clock.advance(1500);
    assert.deepEqual(lessor.expired(), [2n]);
    throwsCode(() => lessor.renew(2n), "LEASE_NOT_FOUND");
    // Reported again only after retryMs while its revoke is pending.
    clock.advance(1000);
    assert.deepEqual(lessor.expired(), []);
    clock.advance(2000);
    assert.deepEqual(lessor.expired(), [2n]);
    store.leaseRevoke(2n);
    clock.advance(10_000);
    assert.deepEqual(lessor.expired(), [1n]);
    assert.equal(lessor.remainingTtl(2n), -1);
    throwsCode(() => lessor.renew(99n), "LEASE_NOT_FOUND");
  });

  test("expired() orders by expiry and honours a limit; demote stops expiry", () => {
    const { store, lessor, clock } = setup();
    lessor.promote();
    store.leaseGrant(3n, 30);
    store.leaseGrant(1n, 10);
    store.leaseGrant(2n, 20);
    clock.advance(40_000);
    assert.deepEqual(lessor.expired(2), [1n, 2n]);
    assert.deepEqual(lessor.expired(), [3n]);
    lessor.demote();
    clock.advance(10_000);
    assert.deepEqual(lessor.expired(), []);
    assert.equal(lessor.isPrimary, false);
  });

  test("a snapshot restore resets the lessor to the snapshot's leases", () => {
    const { store, lessor } = setup();
    store.leaseGrant(1n, 10);
    const snap = store.snapshot();
    store.leaseGrant(2n, 10);
    store.restoreFrom(snap);
    assert.equal(lessor.remainingTtl(1n), 10);
    assert.equal(lessor.remainingTtl(2n), -1);
  });
});
