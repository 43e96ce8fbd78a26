// Writing JSON and Status replies the way upstream does (Content-Type application/json, the
// Status code as the HTTP code).
import type { ServerResponse } from "node:http";
import type { Status } from "../../api/index.js";

export function sendJson(
  res: ServerResponse,
  code: number,
  body: string,
  contentType = "application/json",
): void {
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

export function sendStatus(res: ServerResponse, status: Status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status.code, JSON.stringify(status));
}
