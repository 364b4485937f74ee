/** GSM 03.38 and UCS-2 encoding, segment counting and splitting, reassembly. */
export * from "./gsm7";
export * from "./alphabet";
export * from "./dcs";
export * from "./udh";
export * from "./segment";
export * from "./reassembly";
