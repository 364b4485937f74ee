/** CIMD2 (Nokia CIMD 2.0): codec tables and the client session. */
export * from "./operations";
export * from "./parameters";
export * from "./errors";
export * from "./packet";
export * from "./text";
export * from "./submit";
export * from "./deliver";
export * from "./report";
export * from "./session";
