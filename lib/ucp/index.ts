/** UCP/EMI: codec (frames, field tables, addresses, submit and delivery content) and session. */
export * from "./frame";
export * from "./operations";
export * from "./errors";
export * from "./address";
export * from "./time";
export * from "./submit";
export * from "./deliver";
export * from "./window";
export { UcpConnection, ConnectionDownError, type Answer, type ConnectionOptions } from "./connection";
export * from "./session";
export * from "./incoming";
