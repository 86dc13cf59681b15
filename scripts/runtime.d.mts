// Types of scripts/runtime.mjs, for the tests that import it.
export const DECLARED_RANGE: string;
export const DECLARED_MIN: number[];
export const DECLARED_MAJOR: number;
export function supported(version: string): boolean;
export function unsupportedMessage(version?: string, execPath?: string): string;
export function requireSupportedNode(): void;
