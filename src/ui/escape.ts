/**
 * Failure reasons, job names, payloads and queue names are user data, and may hold terminal
 * control sequences: OSC 52 writes the operator's clipboard, others set the window title or clear
 * the screen. Human output shows every C0/C1 control character (and DEL) as visible text, `\x1b`
 * style, keeping newlines and tabs; --json is left exact. Called by the printer (src/output.ts),
 * the table renderer and the prompts, so no renderer has to remember it.
 */

/** C0 controls except tab and newline, DEL, and the C1 controls U+0080–U+009F. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/** The colour sequences queuectl's own renderers write (chalk): ESC [ params m. */
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

function visible(char: string): string {
  return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/**
 * `text` with control characters made visible. With `keepColor`, colour sequences (SGR) pass as
 * they are: on a colour terminal they are queuectl's own; a payload's could at worst recolour text.
 */
export function escapeControls(text: string, keepColor = false): string {
  if (!keepColor) return text.replace(CONTROL, visible);
  let out = '';
  let at = 0;
  for (const match of text.matchAll(SGR)) {
    out += text.slice(at, match.index).replace(CONTROL, visible) + match[0];
    at = match.index + match[0].length;
  }
  return out + text.slice(at).replace(CONTROL, visible);
}
