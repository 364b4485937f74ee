/** Rapporto HTTP: the public surface of the protocol core. */
export * from "./codes";
export * from "./profile";
export * from "./mt";
export * from "./mo";
export * from "./dlr";
export * from "./time";
export * from "./once";
export * from "./rate";
export * from "./client";
export * from "./poll";
export * from "./receiver";
