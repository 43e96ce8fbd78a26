import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isStatusError } from "../../src/api/index.js";
import { serviceAccountController } from "../../src/controllers/serviceaccount/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, startControllerEnv } from "./harness.js";
import { NAMESPACES, SERVICEACCOUNTS } from "./lifecycle-fixtures.js";

describe("serviceaccount controller", () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerEnv();
  });
  after(async () => {
    await env.close();
  });

  const hasDefault = async (ns: string) => {
    try {
      await env.client.resource(SERVICEACCOUNTS, ns).get("default");
      return true;
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return false;
      throw err;
    }
  };

  test("a new namespace gets a default ServiceAccount, re-created after deletion", async () => {
    const running = await env.run([serviceAccountController]);
    await env.client
      .resource(NAMESPACES)
      .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } });
    await waitFor(() => hasDefault("team-a"), 10_000, "default SA in team-a");
    await waitFor(() => hasDefault("default"), 10_000, "default SA in default");
    const first = await env.client.resource(SERVICEACCOUNTS, "team-a").get("default");
    await env.client.resource(SERVICEACCOUNTS, "team-a").delete("default");
    await waitFor(
      async () => {
        if (!(await hasDefault("team-a"))) return false;
        const again = await env.client.resource(SERVICEACCOUNTS, "team-a").get("default");
        return again.metadata?.uid !== first.metadata?.uid;
      },
      10_000,
      "default SA re-created",
    );
    await running.stop();
  });

  test("a restarted controller creates what was missed while it was down", async () => {
    const running = await env.run([serviceAccountController]);
    await running.stop();
    await env.client
      .resource(NAMESPACES)
      .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b" } });
    await env.client
      .resource(SERVICEACCOUNTS, "team-b")
      .delete("default")
      .catch(() => undefined);
    assert.equal(await hasDefault("team-b"), false);
    await env.run([serviceAccountController]);
    await waitFor(() => hasDefault("team-b"), 10_000, "default SA in team-b after restart");
  });
});
