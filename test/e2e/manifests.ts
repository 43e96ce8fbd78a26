// Test-only manifests for the probe checks of the end-to-end test (examples/ holds the user-facing
// ones). Both servers bind $POD_IP:8080 like examples/hello.yaml.
/** The env list item POD_IP from status.podIP, its "-" at column `indent`. */
function podIPEnv(indent: number): string {
  const lines = ["- name: POD_IP", "  valueFrom:", "    fieldRef:", "      fieldPath: status.podIP"];
  return lines.map((l) => `\n${" ".repeat(indent)}${l}`).join("");
}

/** A pod whose liveness probe always fails: the kubelet restarts its container again and again. */
export const LIVENESS_FAIL = `apiVersion: v1
kind: Pod
metadata:
  name: liveness-fail
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: node:20-alpine
      command:
        - node
        - -e
        - |
          require("node:http").createServer((req, res) => { res.statusCode = 500; res.end("sick\\n"); })
            .listen(8080, process.env.POD_IP, () => console.log("liveness-fail: up"));
      env:${podIPEnv(8)}
      livenessProbe:
        httpGet:
          path: /healthz
          port: 8080
        initialDelaySeconds: 1
        periodSeconds: 1
        failureThreshold: 1
`;

/** Two replicas behind a Service; GET /unready on a pod makes its readiness probe fail from then on. */
export const READINESS_TOGGLE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: toggle
spec:
  replicas: 2
  selector:
    matchLabels:
      app: toggle
  template:
    metadata:
      labels:
        app: toggle
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: node:20-alpine
          command:
            - node
            - -e
            - |
              let ready = true;
              require("node:http").createServer((req, res) => {
                if (req.url === "/unready") ready = false;
                if (req.url === "/ready" && !ready) res.statusCode = 503;
                res.end(ready ? "ready\\n" : "not ready\\n");
              }).listen(8080, process.env.POD_IP);
          env:${podIPEnv(12)}
          readinessProbe:
            httpGet:
              path: /ready
              port: 8080
            periodSeconds: 1
            failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata:
  name: toggle
spec:
  selector:
    app: toggle
  ports:
    - port: 8080
      targetPort: 8080
`;
