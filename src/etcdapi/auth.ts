// The Auth service of a server without users or roles: authentication stays disabled, and each
// call answers what etcd answers in that state (no user or role ever exists). Creating users or
// roles is not supported and says so.
import { status as Status, type UntypedServiceImplementation } from "@grpc/grpc-js";
import * as codec from "./codec.js";
import { EtcdError } from "./errors.js";
import { type ApiContext, unary } from "./rpc.js";

const unsupported = () => new EtcdError(Status.UNIMPLEMENTED, "kite: users and roles are not supported");

export function authService(ctx: ApiContext): UntypedServiceImplementation {
  const header = () => codec.header(ctx.service.header());
  const needName = (w: codec.Wire, field: string, empty: "UserEmpty" | "RoleEmpty") => {
    if (typeof w[field] !== "string" || w[field] === "") throw EtcdError.of(empty);
  };
  const noUser = () => {
    throw EtcdError.of("UserNotFound");
  };
  const noRole = () => {
    throw EtcdError.of("RoleNotFound");
  };
  return {
    AuthEnable: unary(ctx, () => {
      throw EtcdError.of("RootUserNotExist");
    }),
    AuthDisable: unary(ctx, () => ({ header: header() })),
    AuthStatus: unary(ctx, () => ({ header: header(), enabled: false, authRevision: "0" })),
    Authenticate: unary(ctx, () => {
      throw EtcdError.of("AuthNotEnabled");
    }),
    UserAdd: unary(ctx, (w) => {
      needName(w, "name", "UserEmpty");
      throw unsupported();
    }),
    UserGet: unary(ctx, noUser),
    UserList: unary(ctx, () => ({ header: header(), users: [] })),
    UserDelete: unary(ctx, noUser),
    UserChangePassword: unary(ctx, noUser),
    UserGrantRole: unary(ctx, noUser),
    UserRevokeRole: unary(ctx, noUser),
    RoleAdd: unary(ctx, (w) => {
      needName(w, "name", "RoleEmpty");
      throw unsupported();
    }),
    RoleGet: unary(ctx, noRole),
    RoleList: unary(ctx, () => ({ header: header(), roles: [] })),
    RoleDelete: unary(ctx, noRole),
    RoleGrantPermission: unary(ctx, noRole),
    RoleRevokePermission: unary(ctx, noRole),
  };
}
