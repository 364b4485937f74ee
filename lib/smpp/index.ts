/** The SMPP session layer's public surface (the PDU-content helpers live beside it). */
export {
  SmppSession,
  reconnectDelay,
  responseStatus,
  type BindMode,
  type DeliverHandler,
  type Refusal,
  type Stray,
  type SessionState,
  type SessionStatus,
  type SmppSessionOptions,
  type SubmitOptions,
  type SubmitOutcome,
  type TlsOptions,
} from "./session";
export * from "./command-status";
export { SubmitWindow, type WindowOptions } from "./window";
export { SMPP_BIND_DEFAULTS } from "./defaults";
export { TokenBucket, type TokenBucketOptions } from "../throttle";
