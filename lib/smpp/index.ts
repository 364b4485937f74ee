/** The SMPP session layer's public surface (the PDU-content helpers live beside it). */
export {
  SmppSession,
  reconnectDelay,
  responseStatus,
  type BindMode,
  type DeliverHandler,
  type SessionState,
  type SessionStatus,
  type SmppSessionOptions,
  type SubmitOptions,
  type SubmitOutcome,
  type TlsOptions,
} from "./session";
export * from "./command-status";
export { TokenBucket, type TokenBucketOptions } from "./throttle";
