// The controller-manager: leader election on Lease kube-system/kube-controller-manager; the leader
// builds one ControllerContext (a shared informer factory, an event recorder reporting as
// kube-controller-manager), starts every controller, then the informers, and waits for their caches.
// Losing the lease stops the controllers (their signal aborts) and campaigns again.
import { setMaxListeners } from "node:events";
import { Gauge, Registry } from "prom-client";
import {
  ContinuousLeaderElection,
  EventRecorder,
  RestClient,
  SharedInformerFactory,
} from "../client/index.js";
import type { Controller, ControllerContext } from "./context.js";

export interface ControllerManagerConfig {
  client: RestClient;
  controllers: Controller[];
  /** Gets leader_election_master_status{name="kube-controller-manager"}. */
  registry?: Registry;
  identity: string;
  /** Default true. */
  leaderElect?: boolean;
  log?: (message: string) => void;
  /** Client-side rate limit of the manager's client; default 1,000 qps, burst 2,000. */
  qps?: number;
  burst?: number;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface RunningControllerManager {
  isLeader(): boolean;
  /** Resolves once this instance leads and its informers have synced (never, while not leading). */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

interface Leadership {
  abort: AbortController;
  informers: SharedInformerFactory;
  started: Promise<void>;
}

export function startControllerManager(config: ControllerManagerConfig): RunningControllerManager {
  const log = config.log ?? (() => {});
  const client = new RestClient({
    ...config.client.config,
    qps: config.qps ?? 1_000,
    burst: config.burst ?? 2_000,
    userAgent: config.client.config.userAgent ?? "kite-controller-manager",
  });
  // Its own connections, as upstream's leader-election client: renewals never wait behind bulk writes.
  const electionClient = new RestClient({
    ...config.client.config,
    userAgent: `${config.client.config.userAgent ?? "kite-controller-manager"}/leader-election`,
  });
  const recorder = new EventRecorder(client, {
    component: "kube-controller-manager",
    host: config.identity,
    log,
  });
  let current: Leadership | undefined;
  let stopped = false;
  let leading = false;
  let syncedNow = false;
  const syncedWaiters: Array<() => void> = [];
  new Gauge({
    name: "leader_election_master_status",
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ["name"],
    registers: [config.registry ?? new Registry()],
    collect() {
      this.set({ name: "kube-controller-manager" }, leading ? 1 : 0);
    },
  });

  const lead = () => {
    const abort = new AbortController();
    // Every controller listens on this one signal; more than 10 is expected, not a leak.
    setMaxListeners(0, abort.signal);
    const informers = new SharedInformerFactory(client, { log });
    const ctx: ControllerContext = {
      client,
      informers,
      recorder,
      log,
      signal: abort.signal,
    };
    const started = (async () => {
      for (const controller of config.controllers) {
        try {
          await controller.start({ ...ctx, log: (m) => log(`${controller.name}: ${m}`) });
          log(`started controller ${controller.name}`);
        } catch (err) {
          log(`controller ${controller.name} failed to start: ${(err as Error).message}`);
        }
      }
      informers.start();
      if (await informers.waitForCacheSync(abort.signal)) {
        log("controller-manager caches synced");
        syncedNow = true;
        for (const wake of syncedWaiters.splice(0)) wake();
      }
    })();
    current = { abort, informers, started };
  };

  const unlead = async () => {
    const old = current;
    current = undefined;
    syncedNow = false;
    if (old === undefined) return;
    old.abort.abort();
    await old.started;
    await old.informers.shutdown();
  };

  let stepDown: Promise<void> = Promise.resolve();
  let election: ContinuousLeaderElection | undefined;
  if (config.leaderElect === false) {
    leading = true;
    lead();
  } else {
    election = new ContinuousLeaderElection(
      {
        client: electionClient,
        namespace: "kube-system",
        name: "kube-controller-manager",
        identity: config.identity,
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
        releaseOnCancel: true,
        log,
        callbacks: {
          onStartedLeading: () => {
            log(`controller-manager ${config.identity} is the leader`);
            leading = true;
            lead();
          },
          onStoppedLeading: () => {
            log(`controller-manager ${config.identity} stopped leading`);
            leading = false;
            stepDown = stepDown.then(unlead);
          },
        },
      },
      () => stepDown,
    );
  }

  return {
    isLeader: () => leading,
    synced: () =>
      new Promise<void>((resolve) => {
        if (syncedNow) resolve();
        else syncedWaiters.push(resolve);
      }),
    async stop() {
      if (stopped) return;
      stopped = true;
      await election?.stop();
      leading = false;
      await unlead();
      await recorder.flush();
      client.close();
      electionClient.close();
    },
  };
}
