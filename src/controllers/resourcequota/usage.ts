// Moved to src/api/quota (shared with the apiserver's quota admission); kept for existing imports.
export * from "../../api/quota/usage.js";
