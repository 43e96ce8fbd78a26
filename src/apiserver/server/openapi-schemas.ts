// OpenAPI v3 component schemas shared by the group-version documents (object metadata, label
// selectors, the pod template and spec, deployment and service specs), with descriptions for
// `kubectl explain`, and the little builders they are written with.

export type Schema = Record<string, unknown>;

export const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
export const CORE = "io.k8s.api.core.v1";
export const APPS = "io.k8s.api.apps.v1";

export const ref = (name: string, description: string): Schema => ({
  description,
  allOf: [{ $ref: `#/components/schemas/${name}` }],
});
export const str = (description: string): Schema => ({ type: "string", description });
export const int = (description: string): Schema => ({ type: "integer", format: "int32", description });
export const bool = (description: string): Schema => ({ type: "boolean", description });
export const strMap = (description: string): Schema => ({
  type: "object",
  additionalProperties: { type: "string", default: "" },
  description,
});
export const arrayOf = (name: string, description: string): Schema => ({
  type: "array",
  items: { default: {}, allOf: [{ $ref: `#/components/schemas/${name}` }] },
  description,
});
export const free = (description: string): Schema => ({
  type: "object",
  description,
  "x-kubernetes-preserve-unknown-fields": true,
});
export const object = (
  description: string,
  properties: Record<string, Schema>,
  required?: string[],
): Schema =>
  required
    ? { type: "object", description, properties, required }
    : { type: "object", description, properties };

/** Schemas shared by the group-version documents (metadata, pod template, selectors). */
export const SHARED_SCHEMAS: Record<string, Schema> = {
  [`${META}.ObjectMeta`]: object(
    "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
    {
      name: str("Name must be unique within a namespace. Cannot be updated."),
      namespace: str("Namespace defines the space within which each name must be unique."),
      labels: strMap(
        "Map of string keys and values that can be used to organize and categorize (scope and select) objects.",
      ),
      annotations: strMap(
        "Annotations is an unstructured key value map stored with a resource that may be set by external tools.",
      ),
      uid: str(
        "UID is the unique in time and space value for this object. Populated by the system. Read-only.",
      ),
      resourceVersion: str(
        "An opaque value that represents the internal version of this object, used for optimistic concurrency.",
      ),
      generation: {
        type: "integer",
        format: "int64",
        description:
          "A sequence number representing a specific generation of the desired state. Populated by the system. Read-only.",
      },
      creationTimestamp: {
        type: "string",
        format: "date-time",
        description:
          "CreationTimestamp is a timestamp representing the server time when this object was created.",
      },
      deletionTimestamp: {
        type: "string",
        format: "date-time",
        description: "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.",
      },
      deletionGracePeriodSeconds: {
        type: "integer",
        format: "int64",
        description:
          "Number of seconds allowed for this object to gracefully terminate before it will be removed from the system.",
      },
      finalizers: {
        type: "array",
        items: { type: "string", default: "" },
        description: "Must be empty before the object is deleted from the registry.",
      },
      ownerReferences: {
        type: "array",
        items: free("OwnerReference contains enough information to let you identify an owning object."),
        description: "List of objects depended by this object.",
      },
      managedFields: {
        type: "array",
        items: free(
          "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.",
        ),
        description:
          "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.",
      },
      generateName: str(
        "GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided.",
      ),
    },
  ),
  [`${META}.LabelSelector`]: object(
    "A label selector is a label query over a set of resources. An empty label selector matches all objects.",
    {
      matchLabels: strMap("matchLabels is a map of {key,value} pairs."),
      matchExpressions: {
        type: "array",
        items: free("A label selector requirement."),
        description: "matchExpressions is a list of label selector requirements. The requirements are ANDed.",
      },
    },
  ),
  [`${CORE}.PodTemplateSpec`]: object(
    "PodTemplateSpec describes the data a pod should have when created from a template",
    {
      metadata: ref(`${META}.ObjectMeta`, "Standard object's metadata."),
      spec: ref(`${CORE}.PodSpec`, "Specification of the desired behavior of the pod."),
    },
  ),
  [`${CORE}.PodSpec`]: object(
    "PodSpec is a description of a pod.",
    {
      containers: arrayOf(
        `${CORE}.Container`,
        "List of containers belonging to the pod. Containers cannot currently be added or removed. There must be at least one container in a Pod. Cannot be updated.",
      ),
      initContainers: arrayOf(
        `${CORE}.Container`,
        "List of initialization containers belonging to the pod, run in order before the app containers.",
      ),
      nodeName: str(
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler.",
      ),
      nodeSelector: strMap("NodeSelector is a selector which must be true for the pod to fit on a node."),
      restartPolicy: {
        ...str("Restart policy for all containers within the pod. One of Always, OnFailure, Never."),
        enum: ["Always", "Never", "OnFailure"],
      },
      serviceAccountName: str("ServiceAccountName is the name of the ServiceAccount to use to run this pod."),
      terminationGracePeriodSeconds: {
        type: "integer",
        format: "int64",
        description: "Optional duration in seconds the pod needs to terminate gracefully.",
      },
      volumes: {
        type: "array",
        items: free("Volume represents a named volume in a pod."),
        description: "List of volumes that can be mounted by containers belonging to the pod.",
      },
      hostNetwork: bool("Host networking requested for this pod. Use the host's network namespace."),
      tolerations: {
        type: "array",
        items: free(
          "The pod this Toleration is attached to tolerates any taint that matches the triple <key,value,effect>.",
        ),
        description: "If specified, the pod's tolerations.",
      },
      affinity: free("If specified, the pod's scheduling constraints"),
      schedulerName: str("If specified, the pod will be dispatched by specified scheduler."),
      priority: int(
        "The priority value. Various system components use this field to find the priority of the pod.",
      ),
    },
    ["containers"],
  ),
  [`${CORE}.Container`]: object(
    "A single application container that you want to run within a pod.",
    {
      name: str(
        "Name of the container specified as a DNS_LABEL. Each container in a pod must have a unique name. Cannot be updated.",
      ),
      image: str("Container image name."),
      command: {
        type: "array",
        items: { type: "string", default: "" },
        description: "Entrypoint array. Not executed within a shell.",
      },
      args: {
        type: "array",
        items: { type: "string", default: "" },
        description: "Arguments to the entrypoint.",
      },
      env: {
        type: "array",
        items: free("EnvVar represents an environment variable present in a Container."),
        description: "List of environment variables to set in the container. Cannot be updated.",
      },
      ports: {
        type: "array",
        items: free("ContainerPort represents a network port in a single container."),
        description: "List of ports to expose from the container.",
      },
      resources: free("Compute Resources required by this container."),
      imagePullPolicy: {
        ...str("Image pull policy. One of Always, Never, IfNotPresent."),
        enum: ["Always", "IfNotPresent", "Never"],
      },
      volumeMounts: {
        type: "array",
        items: free("VolumeMount describes a mounting of a Volume within a container."),
        description: "Pod volumes to mount into the container's filesystem. Cannot be updated.",
      },
      livenessProbe: free("Periodic probe of container liveness."),
      readinessProbe: free("Periodic probe of container service readiness."),
      workingDir: str("Container's working directory."),
    },
    ["name"],
  ),
  [`${CORE}.PodStatus`]: object("PodStatus represents information about the status of a pod.", {
    phase: {
      ...str("The phase of a Pod is a simple, high-level summary of where the Pod is in its lifecycle."),
      enum: ["Failed", "Pending", "Running", "Succeeded", "Unknown"],
    },
    conditions: {
      type: "array",
      items: free("PodCondition contains details for the current condition of this pod."),
      description: "Current service state of pod.",
    },
    podIP: str("podIP address allocated to the pod."),
    hostIP: str("hostIP holds the IP address of the host to which the pod is assigned."),
    startTime: {
      type: "string",
      format: "date-time",
      description: "RFC 3339 date and time at which the object was acknowledged by the Kubelet.",
    },
    containerStatuses: {
      type: "array",
      items: free("ContainerStatus contains details for the current status of this container."),
      description: "Statuses of containers in this pod.",
    },
  }),
  [`${APPS}.DeploymentSpec`]: object(
    "DeploymentSpec is the specification of the desired behavior of the Deployment.",
    {
      replicas: int(
        "Number of desired pods. This is a pointer to distinguish between explicit zero and not specified. Defaults to 1.",
      ),
      selector: ref(
        `${META}.LabelSelector`,
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.",
      ),
      template: ref(
        `${CORE}.PodTemplateSpec`,
        'Template describes the pods that will be created. The only allowed template.spec.restartPolicy value is "Always".',
      ),
      strategy: free("The deployment strategy to use to replace existing pods with new ones."),
      minReadySeconds: int(
        "Minimum number of seconds for which a newly created pod should be ready without any of its container crashing, for it to be considered available.",
      ),
      revisionHistoryLimit: int("The number of old ReplicaSets to retain to allow rollback. Defaults to 10."),
      paused: bool("Indicates that the deployment is paused."),
      progressDeadlineSeconds: int(
        "The maximum time in seconds for a deployment to make progress before it is considered to be failed. Defaults to 600s.",
      ),
    },
    ["selector", "template"],
  ),
  [`${APPS}.DeploymentStatus`]: object(
    "DeploymentStatus is the most recently observed status of the Deployment.",
    {
      observedGeneration: {
        type: "integer",
        format: "int64",
        description: "The generation observed by the deployment controller.",
      },
      replicas: int(
        "Total number of non-terminated pods targeted by this deployment (their labels match the selector).",
      ),
      updatedReplicas: int(
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
      ),
      readyReplicas: int(
        "Total number of non-terminated pods targeted by this Deployment with a Ready Condition.",
      ),
      availableReplicas: int(
        "Total number of available non-terminated pods (ready for at least minReadySeconds) targeted by this deployment.",
      ),
      unavailableReplicas: int("Total number of unavailable pods targeted by this deployment."),
      conditions: {
        type: "array",
        items: free("DeploymentCondition describes the state of a deployment at a certain point."),
        description: "Represents the latest available observations of a deployment's current state.",
      },
    },
  ),
  [`${CORE}.ServiceSpec`]: object("ServiceSpec describes the attributes that a user creates on a service.", {
    type: {
      ...str("type determines how the Service is exposed. Defaults to ClusterIP."),
      enum: ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    },
    selector: strMap("Route service traffic to pods with label keys and values matching this selector."),
    ports: {
      type: "array",
      items: free("ServicePort contains information on service's port."),
      description: "The list of ports that are exposed by this service.",
    },
    clusterIP: str("clusterIP is the IP address of the service and is usually assigned randomly."),
    clusterIPs: {
      type: "array",
      items: { type: "string", default: "" },
      description: "ClusterIPs is a list of IP addresses assigned to this service.",
    },
    sessionAffinity: str('Supports "ClientIP" and "None". Used to maintain session affinity.'),
    externalName: str(
      "externalName is the external reference that discovery mechanisms will return as an alias for this service.",
    ),
  }),
};
