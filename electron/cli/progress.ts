// Progress of a long job on stderr: on a terminal one line rewritten in place; in a log or a pipe,
// plain lines, at most one a second and only when the text changed, so the log stays readable.

export interface ProgressSink {
  readonly stderr: (line: string) => void;
  readonly stderrText: (text: string) => void;
  readonly stderrIsTerminal: boolean;
}

export interface ProgressReporter {
  /** Shows the job's current state. */
  show(line: string): void;
  /** Removes the in-place line (a terminal), so what follows starts on a clean line. */
  clear(): void;
}

/** A plain progress line at most this often. */
export const plainLineEveryMs = 1000;
/** A terminal line is cut to this many characters: a wrapped line cannot be rewritten in place. */
export const terminalLineWidth = 78;

const clearLine = '\r\u001b[K';

export function progressReporter(sink: ProgressSink, now: () => number = Date.now): ProgressReporter {
  let last = '';
  let lastAt = Number.NEGATIVE_INFINITY;
  let onScreen = false;
  if (sink.stderrIsTerminal) {
    return {
      show(line) {
        const cut = [...line].length > terminalLineWidth ? `${[...line].slice(0, terminalLineWidth - 1).join('')}…` : line;
        if (cut === last && onScreen) return;
        sink.stderrText(`${clearLine}${cut}`);
        last = cut;
        onScreen = true;
      },
      clear() {
        if (onScreen) sink.stderrText(clearLine);
        onScreen = false;
        last = '';
      },
    };
  }
  return {
    show(line) {
      const at = now();
      if (line === last || at - lastAt < plainLineEveryMs) return;
      sink.stderr(line);
      last = line;
      lastAt = at;
    },
    clear() {},
  };
}
