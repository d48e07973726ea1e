// Turns the bytes a terminal sends in raw mode into key names: printable characters as themselves,
// the rest as `up`, `down`, `pageup`, `pagedown`, `home`, `end`, `tab`, `backtab`, `enter`,
// `escape`, `backspace`, `ctrl-c`.

const SEQUENCES: Record<string, string> = {
  "\x1b[A": "up",
  "\x1b[B": "down",
  "\x1b[C": "right",
  "\x1b[D": "left",
  "\x1bOA": "up",
  "\x1bOB": "down",
  "\x1bOC": "right",
  "\x1bOD": "left",
  "\x1b[5~": "pageup",
  "\x1b[6~": "pagedown",
  "\x1b[H": "home",
  "\x1b[F": "end",
  "\x1b[1~": "home",
  "\x1b[4~": "end",
  "\x1bOH": "home",
  "\x1bOF": "end",
  "\x1b[Z": "backtab",
};

const CONTROLS: Record<string, string> = {
  "\t": "tab",
  "\r": "enter",
  "\n": "enter",
  "\x7f": "backspace",
  "\b": "backspace",
  "\x03": "ctrl-c",
  "\x04": "ctrl-d",
  "\x0c": "ctrl-l",
};

/** A CSI or SS3 sequence at the start of `text`: ESC [ params final, or ESC O letter. */
function escapeSequenceLength(text: string): number {
  if (text[1] === "O") return text.length >= 3 ? 3 : 1;
  if (text[1] !== "[") return 1;
  for (let index = 2; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0x40 && code <= 0x7e) return index + 1;
  }
  return 1;
}

/** Every key in one read. An unknown escape sequence is dropped whole, never typed as text. */
export function parseKeys(text: string): string[] {
  const keys: string[] = [];
  let index = 0;
  while (index < text.length) {
    const rest = text.slice(index);
    if (rest[0] === "\x1b") {
      const length = rest.length === 1 ? 1 : escapeSequenceLength(rest);
      const sequence = rest.slice(0, length);
      if (length === 1) keys.push("escape");
      else if (SEQUENCES[sequence]) keys.push(SEQUENCES[sequence]!);
      index += length;
      continue;
    }
    const char = String.fromCodePoint(rest.codePointAt(0)!);
    const control = CONTROLS[char];
    if (control) keys.push(control);
    else if (char >= " ") keys.push(char);
    index += char.length;
  }
  return keys;
}
