/** An error's message as one line, for reports that must stay on one line (CLI errors, provider failures, doctor). */

/** The lines of the error's message, trimmed, without empty ones. */
function messageLines(err: unknown): string[] {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The whole message on one line (newlines and indentation collapsed). */
export function oneLine(err: unknown): string {
  return messageLines(err).join(' ');
}

/** Only the message's first line (the summary; the rest is detail such as a list of causes). */
export function firstLine(err: unknown): string {
  return messageLines(err)[0] ?? '';
}
