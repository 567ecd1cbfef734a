// Requests a guest command can make of the host while it runs (the guest cannot reach QEMU's monitor).
// Transport: files in the job folder, shared over 9p: the guest writes rpc/req-N.json, the host runner
// answers with rpc/res-N.json. Used by scenario scripts (guest/host.ts) and served by runner.ts.

export type HostRequest =
  /** Any QMP command, e.g. { command: 'query-blockstats' }. */
  | { op: 'qmp'; command: string; arguments?: Record<string, unknown> }
  /** `query-blockstats`, flattened (see DriveStats in qmp.ts). */
  | { op: 'blockstats' }
  /** `device_del` of a qdev id; resolves when QEMU reports DEVICE_DELETED (or after timeoutMs). */
  | { op: 'device-del'; id: string; waitDeleted?: boolean; timeoutMs?: number };

export type HostResponse = { ok: true; value: unknown } | { ok: false; error: string };

export const RPC_DIR = 'rpc';
export const requestFile = (n: number): string => `req-${n}.json`;
export const responseFile = (n: number): string => `res-${n}.json`;
