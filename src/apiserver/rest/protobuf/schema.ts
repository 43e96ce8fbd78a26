// The field numbers of the Kubernetes messages kite accepts as protobuf: what `kubectl create
// <generator>` (a client-go typed client, protobuf by default since 1.32) sends. Facts are from
// upstream's generated.proto files; a field not listed here is refused when it carries data, so
// nothing is dropped silently.
//
// Notation, one message per string: `name=N` is a string; `:T` a typed field (i32, i64, bool,
// bytes, Time, Quantity, IntOrString or a message); `[]`/`[T]` repeated; `{}`/`{T}` map from
// string; `?` a Go pointer (a zero value is kept); `!` embedded inline in JSON; `:skip` ignored.

export type Scalar = "string" | "i32" | "i64" | "bool" | "bytes" | "Time" | "Quantity" | "IntOrString";

export interface FieldSpec {
  name: string;
  type: Scalar | { message: string };
  repeated: boolean;
  map: boolean;
  pointer: boolean;
  inline: boolean;
  skip: boolean;
}

export type MessageSpec = Map<number, FieldSpec>;

const SCALARS = new Set<string>(["i32", "i64", "bool", "bytes", "Time", "Quantity", "IntOrString"]);

const MESSAGES: Record<string, string> = {
  // k8s.io/apimachinery meta/v1
  ObjectMeta:
    "name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 generation=7:i64 creationTimestamp=8:Time " +
    "deletionTimestamp=9:Time deletionGracePeriodSeconds=10:i64? labels=11{} annotations=12{} " +
    "ownerReferences=13[OwnerReference] finalizers=14[]",
  OwnerReference: "kind=1 name=3 uid=4 apiVersion=5 controller=6:bool? blockOwnerDeletion=7:bool?",
  LabelSelector: "matchLabels=1{} matchExpressions=2[LabelSelectorRequirement]",
  LabelSelectorRequirement: "key=1 operator=2 values=3[]",
  // core/v1
  PodTemplateSpec: "metadata=1:ObjectMeta spec=2:PodSpec",
  PodSpec:
    "containers=2[Container] restartPolicy=3 terminationGracePeriodSeconds=4:i64? activeDeadlineSeconds=5:i64? " +
    "dnsPolicy=6 nodeSelector=7{} serviceAccountName=8 serviceAccount=9 nodeName=10 hostNetwork=11:bool " +
    "hostPID=12:bool hostIPC=13:bool imagePullSecrets=15[LocalObjectReference] hostname=16 subdomain=17 " +
    "schedulerName=19 initContainers=20[Container] automountServiceAccountToken=21:bool? " +
    "tolerations=22[Toleration] priorityClassName=24 priority=25:i32? shareProcessNamespace=27:bool? " +
    "runtimeClassName=29 enableServiceLinks=30:bool? preemptionPolicy=31 setHostnameAsFQDN=35:bool? " +
    "hostUsers=37:bool?",
  Container:
    "name=1 image=2 command=3[] args=4[] workingDir=5 ports=6[ContainerPort] env=7[EnvVar] " +
    "resources=8:ResourceRequirements terminationMessagePath=13 imagePullPolicy=14 stdin=16:bool " +
    "stdinOnce=17:bool tty=18:bool envFrom=19[EnvFromSource] terminationMessagePolicy=20 restartPolicy=24",
  ContainerPort: "name=1 hostPort=2:i32 containerPort=3:i32 protocol=4 hostIP=5",
  ResourceRequirements: "limits=1{Quantity} requests=2{Quantity}",
  EnvVar: "name=1 value=2 valueFrom=3:EnvVarSource",
  EnvVarSource:
    "fieldRef=1:ObjectFieldSelector resourceFieldRef=2:ResourceFieldSelector " +
    "configMapKeyRef=3:ConfigMapKeySelector secretKeyRef=4:SecretKeySelector",
  ObjectFieldSelector: "apiVersion=1 fieldPath=2",
  ResourceFieldSelector: "containerName=1 resource=2 divisor=3:Quantity",
  ConfigMapKeySelector: "localObjectReference=1:LocalObjectReference! key=2 optional=3:bool?",
  SecretKeySelector: "localObjectReference=1:LocalObjectReference! key=2 optional=3:bool?",
  EnvFromSource: "prefix=1 configMapRef=2:ConfigMapEnvSource secretRef=3:SecretEnvSource",
  ConfigMapEnvSource: "localObjectReference=1:LocalObjectReference! optional=2:bool?",
  SecretEnvSource: "localObjectReference=1:LocalObjectReference! optional=2:bool?",
  LocalObjectReference: "name=1",
  Toleration: "key=1 operator=2 value=3 effect=4 tolerationSeconds=5:i64?",
  Namespace: "metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:skip",
  NamespaceSpec: "finalizers=1[]",
  ConfigMap: "metadata=1:ObjectMeta data=2{} binaryData=3{bytes} immutable=4:bool?",
  Secret: "metadata=1:ObjectMeta data=2{bytes} type=3 stringData=4{} immutable=5:bool?",
  Service: "metadata=1:ObjectMeta spec=2:ServiceSpec status=3:skip",
  ServiceSpec:
    "ports=1[ServicePort] selector=2{} clusterIP=3 type=4 externalIPs=5[] sessionAffinity=7 loadBalancerIP=8 " +
    "loadBalancerSourceRanges=9[] externalName=10 externalTrafficPolicy=11 healthCheckNodePort=12:i32 " +
    "publishNotReadyAddresses=13:bool ipFamilyPolicy=17 clusterIPs=18[] ipFamilies=19[] " +
    "allocateLoadBalancerNodePorts=20:bool? loadBalancerClass=21 internalTrafficPolicy=22 trafficDistribution=23",
  ServicePort: "name=1 protocol=2 port=3:i32 targetPort=4:IntOrString nodePort=5:i32 appProtocol=6",
  ServiceAccount:
    "metadata=1:ObjectMeta imagePullSecrets=3[LocalObjectReference] automountServiceAccountToken=4:bool?",
  ResourceQuota: "metadata=1:ObjectMeta spec=2:ResourceQuotaSpec status=3:skip",
  ResourceQuotaSpec: "hard=1{Quantity} scopes=2[]",
  // apps/v1
  Deployment: "metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:skip",
  DeploymentSpec:
    "replicas=1:i32? selector=2:LabelSelector template=3:PodTemplateSpec strategy=4:DeploymentStrategy " +
    "minReadySeconds=5:i32 revisionHistoryLimit=6:i32? paused=7:bool progressDeadlineSeconds=9:i32?",
  DeploymentStrategy: "type=1 rollingUpdate=2:RollingUpdateDeployment",
  RollingUpdateDeployment: "maxUnavailable=1:IntOrString maxSurge=2:IntOrString",
  // batch/v1
  Job: "metadata=1:ObjectMeta spec=2:JobSpec status=3:skip",
  JobSpec:
    "parallelism=1:i32? completions=2:i32? activeDeadlineSeconds=3:i64? selector=4:LabelSelector " +
    "manualSelector=5:bool? template=6:PodTemplateSpec backoffLimit=7:i32? ttlSecondsAfterFinished=8:i32? " +
    "completionMode=9 suspend=10:bool? backoffLimitPerIndex=12:i32? maxFailedIndexes=13:i32? " +
    "podReplacementPolicy=14 managedBy=15",
  CronJob: "metadata=1:ObjectMeta spec=2:CronJobSpec status=3:skip",
  CronJobSpec:
    "schedule=1 startingDeadlineSeconds=2:i64? concurrencyPolicy=3 suspend=4:bool? jobTemplate=5:JobTemplateSpec " +
    "successfulJobsHistoryLimit=6:i32? failedJobsHistoryLimit=7:i32? timeZone=8",
  JobTemplateSpec: "metadata=1:ObjectMeta spec=2:JobSpec",
  // rbac.authorization.k8s.io/v1
  Role: "metadata=1:ObjectMeta rules=2[PolicyRule]",
  ClusterRole: "metadata=1:ObjectMeta rules=2[PolicyRule] aggregationRule=3:AggregationRule",
  PolicyRule: "verbs=1[] apiGroups=2[] resources=3[] resourceNames=4[] nonResourceURLs=5[]",
  AggregationRule: "clusterRoleSelectors=1[LabelSelector]",
  RoleBinding: "metadata=1:ObjectMeta subjects=2[Subject] roleRef=3:RoleRef",
  ClusterRoleBinding: "metadata=1:ObjectMeta subjects=2[Subject] roleRef=3:RoleRef",
  Subject: "kind=1 apiGroup=2 name=3 namespace=4",
  RoleRef: "apiGroup=1 kind=2 name=3",
  // networking.k8s.io/v1
  Ingress: "metadata=1:ObjectMeta spec=2:IngressSpec status=3:skip",
  IngressSpec: "defaultBackend=1:IngressBackend tls=2[IngressTLS] rules=3[IngressRule] ingressClassName=4",
  IngressRule: "host=1 ingressRuleValue=2:IngressRuleValue!",
  IngressRuleValue: "http=1:HTTPIngressRuleValue",
  HTTPIngressRuleValue: "paths=1[HTTPIngressPath]",
  HTTPIngressPath: "path=1 backend=2:IngressBackend pathType=3",
  IngressBackend: "service=4:IngressServiceBackend",
  IngressServiceBackend: "name=1 port=2:ServiceBackendPort",
  ServiceBackendPort: "name=1 number=2:i32",
  IngressTLS: "hosts=1[] secretName=2",
};

/** apiVersion/kind → the message of its object. */
export const TOP_LEVEL_KINDS: Record<string, string> = {
  "v1/Namespace": "Namespace",
  "v1/ConfigMap": "ConfigMap",
  "v1/Secret": "Secret",
  "v1/Service": "Service",
  "v1/ServiceAccount": "ServiceAccount",
  "v1/ResourceQuota": "ResourceQuota",
  "apps/v1/Deployment": "Deployment",
  "batch/v1/Job": "Job",
  "batch/v1/CronJob": "CronJob",
  "rbac.authorization.k8s.io/v1/Role": "Role",
  "rbac.authorization.k8s.io/v1/ClusterRole": "ClusterRole",
  "rbac.authorization.k8s.io/v1/RoleBinding": "RoleBinding",
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": "ClusterRoleBinding",
  "networking.k8s.io/v1/Ingress": "Ingress",
};

const FIELD = /^([A-Za-z]+)=(\d+)(\[([A-Za-z0-9]*)\]|\{([A-Za-z0-9]*)\}|:([A-Za-z0-9]+))?([?!]?)$/;

function parseMessage(name: string, text: string): MessageSpec {
  const out: MessageSpec = new Map();
  for (const token of text.split(/\s+/)) {
    const m = FIELD.exec(token);
    if (m === null) throw new Error(`protobuf schema ${name}: cannot read field ${JSON.stringify(token)}`);
    const [, fieldName, num, , listOf, mapOf, typed, mod] = m;
    const raw = listOf ?? mapOf ?? typed ?? "";
    const typeName = raw === "" ? "string" : raw;
    const spec: FieldSpec = {
      name: fieldName!,
      type: typeName === "string" || SCALARS.has(typeName) ? (typeName as Scalar) : { message: typeName },
      repeated: listOf !== undefined,
      map: mapOf !== undefined,
      pointer: mod === "?",
      inline: mod === "!",
      skip: typeName === "skip",
    };
    if (typeof spec.type === "object" && !spec.skip && MESSAGES[spec.type.message] === undefined)
      throw new Error(`protobuf schema ${name}.${fieldName}: unknown message ${spec.type.message}`);
    out.set(Number(num), spec);
  }
  return out;
}

const parsed = new Map<string, MessageSpec>();

export function messageSpec(name: string): MessageSpec {
  let spec = parsed.get(name);
  if (spec === undefined) {
    const text = MESSAGES[name];
    if (text === undefined) throw new Error(`protobuf schema: no message ${name}`);
    spec = parseMessage(name, text);
    parsed.set(name, spec);
  }
  return spec;
}

/** Every message parsed once, so a typo in the tables fails a test rather than a request. */
export function allMessageNames(): string[] {
  return Object.keys(MESSAGES);
}
