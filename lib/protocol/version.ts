/** The program version, printed by `taskferry --version` and reported by `/health`. */
export const VERSION = "0.1.0";

/** The envelope protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;
