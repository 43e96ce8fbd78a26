import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  alreadyExists,
  badRequest,
  conflict,
  fieldErrors,
  forbidden,
  internalError,
  invalid,
  methodNotSupported,
  notFound,
  requestEntityTooLarge,
  StatusError,
  timeout,
  tooManyRequests,
  tooOldResourceVersion,
  unauthorized,
  unsupportedMediaType,
} from "../../src/api/index.js";

const wire = (e: StatusError) => JSON.stringify(e.status);

describe("Status errors", () => {
  test("404 NotFound, byte for byte", () => {
    const e = notFound("pods", "x");
    assert.ok(e instanceof StatusError && e instanceof Error);
    assert.equal(
      wire(e),
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}',
    );
    assert.equal(e.message, 'pods "x" not found');
    assert.equal(
      notFound({ group: "apps", resource: "deployments" }, "web").message,
      'deployments.apps "web" not found',
    );
    assert.deepEqual(notFound({ group: "apps", resource: "deployments" }, "web").status.details, {
      name: "web",
      group: "apps",
      kind: "deployments",
    });
  });

  test("409s", () => {
    const ae = alreadyExists("pods", "x");
    assert.equal(ae.code, 409);
    assert.equal(ae.reason, "AlreadyExists");
    assert.equal(ae.message, 'pods "x" already exists');
    const c = conflict({ group: "apps", resource: "deployments" }, "web");
    assert.equal(c.reason, "Conflict");
    assert.equal(
      c.message,
      'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
    );
    assert.equal(
      conflict("pods", "x").message,
      'Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  test("422 Invalid with causes", () => {
    const e = invalid("Pod", "x", [fieldErrors.required("spec.containers[0].name")]);
    assert.equal(e.message, 'Pod "x" is invalid: spec.containers[0].name: Required value');
    assert.equal(
      wire(e),
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Pod \\"x\\" is invalid: spec.containers[0].name: Required value","reason":"Invalid","details":{"name":"x","kind":"Pod","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers[0].name"}]},"code":422}',
    );
    const two = invalid({ group: "apps", kind: "Deployment" }, "web", [
      fieldErrors.invalid("metadata.name", "Web", "bad"),
      fieldErrors.required("spec.selector"),
    ]);
    assert.equal(
      two.message,
      'Deployment.apps "web" is invalid: [metadata.name: Invalid value: "Web": bad, spec.selector: Required value]',
    );
    assert.equal(invalid("Pod", "x", []).message, 'Pod "x" is invalid');
  });

  test("the rest of the codes", () => {
    assert.deepEqual(
      [badRequest("nope").code, badRequest("nope").reason, badRequest("nope").message],
      [400, "BadRequest", "nope"],
    );
    assert.deepEqual([unauthorized().code, unauthorized().message], [401, "not authorized"]);
    assert.equal(forbidden("pods", "x", "no").message, 'pods "x" is forbidden: no');
    assert.equal(forbidden("pods", "", "no").message, "pods is forbidden: no");
    assert.equal(forbidden(null, "", "no").message, "forbidden: no");
    const gone = tooOldResourceVersion(5, 100);
    assert.deepEqual(
      [gone.code, gone.reason, gone.message],
      [410, "Expired", "too old resource version: 5 (100)"],
    );
    const big = requestEntityTooLarge("limit is 3145728");
    assert.deepEqual(
      [big.code, big.reason, big.message],
      [413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"],
    );
    const media = unsupportedMediaType([
      "application/json-patch+json",
      "application/merge-patch+json",
      "application/apply-patch+yaml",
    ]);
    assert.deepEqual([media.code, media.reason], [415, "UnsupportedMediaType"]);
    assert.equal(
      media.message,
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
    const m = methodNotSupported("pods", "deletecollection");
    assert.deepEqual(
      [m.code, m.reason, m.message],
      [405, "MethodNotAllowed", 'deletecollection is not supported on resources of kind "pods"'],
    );
    const ie = internalError(new Error("boom"));
    assert.deepEqual(
      [ie.code, ie.reason, ie.message],
      [500, "InternalError", "Internal error occurred: boom"],
    );
    assert.deepEqual(ie.status.details, { causes: [{ message: "boom" }] });
    const tm = tooManyRequests("slow down", 1);
    assert.deepEqual(
      [tm.code, tm.reason, tm.status.details],
      [429, "TooManyRequests", { retryAfterSeconds: 1 }],
    );
    const to = timeout("request did not complete within 60s");
    assert.deepEqual(
      [to.code, to.reason, to.message],
      [504, "Timeout", "Timeout: request did not complete within 60s"],
    );
  });
});
