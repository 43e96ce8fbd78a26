// src/api owns the Kubernetes object model helpers shared by the apiserver, controllers, scheduler and
// kubelet: object meta types, label and field selectors, resource quantities, name/label validation,
// Status errors, JSON/merge/strategic-merge patches and server-side apply with managedFields.
// Everything here is pure: no I/O, no clocks (callers pass timestamps in).

export * from "./apply.js";
export * from "./errors.js";
export * from "./fields.js";
export * from "./fieldset.js";
export * from "./labels.js";
export * from "./patch/json.js";
export * from "./patch/jsonpatch.js";
export * from "./patch/mergepatch.js";
export * from "./patch/schema.js";
export * from "./patch/strategic.js";
export * from "./quantity.js";
export * from "./types.js";
export * from "./validation.js";
