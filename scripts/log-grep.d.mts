// Types of scripts/log-grep.mjs, for the tests that import it.
export function findSecrets(text: string, source: string, allowLine?: (line: string) => boolean): string[];
export function isTestTitle(line: string): boolean;
